import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { createMeshA2aServer, createMeshMcpServer } from '../../interop/index.js';
import {
  type ClusterOptions,
  type Durability,
  feedFile,
  isMeshwardenError,
  type Mesh,
  openMesh,
  sizeOf,
} from '../../runtime/index.js';
import { createServer, openTokenStore } from '../../server/index.js';
import { cliError, EXIT } from '../errors.js';

import { displayPath, headsText, type Output } from '../output.js';
import { cliTransports } from '../transports.js';
import { reportOpenFailure } from './policy-check.js';

export type UpOptions = {
  readonly mesh: string;
  readonly data: string;
  readonly port: number;
  readonly host: string;
  readonly input?: string;
  readonly rateLimit?: number;
  /** Where the ledger lives when not `ledger.db` in `data`: another file, or `postgres://…`. */
  readonly ledger?: string;
  /** Overrides the mesh file's `ledger.durability`. */
  readonly durability?: Durability;
  /** Join the mesh's cluster as one node (needs a PostgreSQL `ledger`). */
  readonly cluster?: ClusterOptions;
  readonly json: boolean;
};

/**
 * Runs the mesh with the HTTP API and the console on one port until SIGINT or SIGTERM, then shuts
 * down in order: the server stops taking calls, in-flight work finishes, the ledger is flushed.
 */
export async function up(opts: UpOptions, out: Output, log: Logger): Promise<number> {
  const input = opts.input === undefined ? undefined : resolve(opts.input);
  if (input !== undefined && !(await isFile(input))) {
    out.fail(cliError('MW_CLI_INPUT_MISSING', { file: opts.input ?? '', cause: 'not a readable file' }));
    return EXIT.usage;
  }
  const dataDir = resolve(opts.data);
  // Closed after the mesh (await using, declared first): MCP servers get a graceful stop.
  await using transports = cliTransports();
  const result = await openMesh({
    meshFile: resolve(opts.mesh),
    dataDir,
    log,
    transports: transports.list,
    ...(opts.durability === undefined ? {} : { durability: opts.durability }),
    ...(opts.ledger === undefined ? {} : { ledgerAt: opts.ledger }),
    ...(opts.cluster === undefined ? {} : { cluster: opts.cluster }),
  });
  if (!result.ok) return reportOpenFailure(result, opts.mesh, out);
  const opened = result.opened;
  const { mesh, ledger } = opened;
  if (opened.resumed > 0)
    out.note(`resuming ${opened.resumed} admitted message(s) a previous run did not finish`);

  const tokenFile = join(dataDir, 'tokens.json');
  const tokens = await openTokenStore(tokenFile);
  if (isMeshwardenError(tokens)) {
    out.fail(tokens);
    await opened.close();
    return EXIT.failed;
  }
  // Pilots' LLM clients reach the mesh as MCP tools at /api/v1/mcp, through the gate like any sender.
  const mcp = createMeshMcpServer(mesh, { log: log.child({ layer: 'interop' }) });
  const server = await createServer({
    mesh,
    ledger,
    tokens,
    mcp,
    // Remote A2A clients reach the mesh as one A2A agent per ingress, through the gate too.
    a2a: createMeshA2aServer(mesh),
    log: log.child({ layer: 'server' }),
    // A cluster node's console and API show the whole mesh, not just its own partitions.
    ...(opened.control === undefined ? {} : { cluster: opened.control }),
    ...(opts.rateLimit === undefined ? {} : { rateLimit: opts.rateLimit }),
  });
  const verify = async () => {
    const verified = await server.integrity.verify();
    if (!verified.ok) {
      out.note(
        `warning: the ledger is NOT intact (${verified.firstBad?.detail}); run meshwarden audit verify`,
      );
    }
  };
  if (opts.cluster === undefined) {
    out.note(`verifying the ledger (${sizeOf(ledger.heads()).toLocaleString('en')} entries) …`);
    await verify();
  } else {
    // A cluster's ledger holds the whole mesh's history: checked while the node serves, not before.
    out.note('verifying the shared ledger in the background …');
    verify().catch((err: unknown) => log.warn({ err }, 'ledger verification failed'));
  }
  let url: string;
  try {
    url = await server.listen(opts.port, opts.host);
  } catch (cause) {
    out.fail(
      cliError('MW_CLI_LISTEN', { host: opts.host, port: opts.port, cause: (cause as Error).message }),
    );
    await server.close();
    await mcp.close();
    await opened.close();
    return EXIT.failed;
  }

  // Made once the port is ours, so a failed start never stores a token nobody was shown. A data
  // directory without any admin token (a new one) gets one.
  const first = tokens.list().some((t) => t.role === 'admin')
    ? undefined
    : await tokens.create(freeName(tokens.list().map((t) => t.name)), 'admin');
  if (isMeshwardenError(first)) {
    out.fail(first);
    await server.close();
    await mcp.close();
    await opened.close();
    return EXIT.failed;
  }

  if (!['127.0.0.1', 'localhost', '::1'].includes(opts.host)) {
    out.note(
      `warning: listening on ${opts.host}, so other machines can reach the API; tokens are its only guard, and it speaks plain HTTP (put TLS in front)`,
    );
  }
  // Ready to stop before saying it is up: whoever reads the URLs may signal at once.
  const stop = new AbortController();
  const stopped = new Promise<void>((resolveStop) =>
    stop.signal.addEventListener('abort', () => resolveStop()),
  );
  const onSignal = () => {
    out.note(
      'stopping: no new calls; finishing in-flight work and flushing the ledger (signal again to force)',
    );
    stop.abort();
    process.once('SIGINT', () => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  announce(out, {
    mesh,
    url,
    durability: ledger.durability,
    dataDir,
    tokenFile,
    first,
    cluster: opts.cluster,
  });

  if (input !== undefined) {
    feedFile(mesh, input, () => {}, stop.signal).then(
      (lines) => out.note(`fed ${lines} line(s) from ${displayPath(input)}`),
      (err: unknown) => out.note(`feeding ${displayPath(input)} stopped: ${(err as Error).message}`),
    );
  }

  // A ledger that closes on an error (a fenced or failed commit) records nothing more: up stops
  // rather than serve a mesh that cannot keep its record.
  const failed = ledger.closed.then((result) => (isMeshwardenError(result) ? result : undefined));
  const failure = await Promise.race([stopped.then(() => undefined), failed]);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  if (failure !== undefined) log.error({ err: failure }, 'the ledger closed; stopping');
  await server.close();
  await mcp.close();
  await opened.close();
  if (failure !== undefined) {
    out.fail(failure);
    out.note('stopped: the ledger closed on that error; meshwarden audit verify shows what it holds');
    return EXIT.failed;
  }
  if (opts.cluster !== undefined) {
    // The writer's heads are those of partitions it held; the others moved on elsewhere.
    out.note(`stopped cleanly: node ${opts.cluster.node} handed its partitions to the live nodes`);
    return EXIT.ok;
  }
  const heads = ledger.heads();
  out.note(`stopped cleanly: ${sizeOf(heads)} ledger entries, ${headsText(heads)}`);
  return EXIT.ok;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** `admin`, or `admin-2`, `admin-3`, … when a token already has that name. */
function freeName(taken: readonly string[]): string {
  if (!taken.includes('admin')) return 'admin';
  for (let i = 2; ; i++) if (!taken.includes(`admin-${i}`)) return `admin-${i}`;
}

/** What is served over A2A: each ingress, and each agent the policy exposes. */
function a2aNames(mesh: Mesh): string[] {
  const exposed = [...mesh.policy.agents.values()].filter((a) => a.expose !== undefined).map((a) => a.name);
  return [...mesh.policy.ingress.keys(), ...exposed];
}

/** What `up` says once it listens: its URLs, the durability in force and a first admin token. */
function announce(
  out: Output,
  at: {
    mesh: Mesh;
    url: string;
    durability: string;
    dataDir: string;
    tokenFile: string;
    first: { token: string } | undefined;
    cluster: ClusterOptions | undefined;
  },
): void {
  const { mesh, url, durability, dataDir, tokenFile, first, cluster } = at;
  const consoleUrl = first === undefined ? `${url}/` : `${url}/#token=${first.token}`;
  if (out.json) {
    out.document({
      mesh: mesh.policy.mesh,
      durability: durability,
      url,
      console: consoleUrl,
      api: `${url}/api/v1`,
      mcp: `${url}/api/v1/mcp`,
      a2a: a2aNames(mesh).map((name) => `${url}/api/v1/a2a/${name}/.well-known/agent-card.json`),
      ...(first === undefined ? {} : { token: first.token }),
      ...(cluster === undefined ? {} : { node: cluster.node, cluster: cluster.servers }),
    });
  } else {
    out.line(
      cluster === undefined
        ? `Meshwarden is up: mesh ${mesh.policy.mesh}, ledger in ${displayPath(dataDir)} (durability ${durability})`
        : `Meshwarden is up: node ${cluster.node} of mesh ${mesh.policy.mesh} on ${cluster.servers} (${mesh.policy.partitions} partitions shared by the live nodes; durability ${durability})`,
    );
    out.line(`  console  ${consoleUrl}`);
    out.line(`  api      ${url}/api/v1  (docs/api.md; OpenAPI at ${url}/api/v1/openapi.json)`);
    out.line(`  mcp      ${url}/api/v1/mcp  (a pilot token; docs/interop.md)`);
    for (const name of a2aNames(mesh)) {
      // Only an exposed agent's card is public; an ingress's takes a token too (docs/interop.md).
      const needs = mesh.policy.ingress.has(name)
        ? 'its card and sending need a token'
        : 'sending needs a partner or pilot token';
      out.line(`  a2a      ${url}/api/v1/a2a/${name}/.well-known/agent-card.json  (${needs})`);
    }
    if (first !== undefined) {
      out.line(`  admin token (shown only now; stored hashed in ${displayPath(tokenFile)}):`);
      out.line(`    ${first.token}`);
    }
    out.line('Ctrl-C stops it: in-flight work finishes and the ledger is flushed.');
  }
}
