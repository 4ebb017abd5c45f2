import { join } from 'node:path';
import type { Logger } from 'pino';
import { createMeshA2aServer, createMeshMcpServer } from '../../interop/index.js';
import {
  type ClusterControl,
  type ClusterOptions,
  isMeshwardenError,
  ledgerFile,
  ledgerName,
  type Mesh,
  type OpenedMesh,
  sizeOf,
} from '../../runtime/index.js';
import {
  createServer,
  type MetricsEndpoint,
  openTokenStore,
  type RequestObserver,
} from '../../server/index.js';
import { cliError, EXIT } from '../errors.js';
import { sayProgress } from '../ledger-access.js';
import { displayPath, type Output } from '../output.js';
import type { UpOptions } from './up.js';

/** What `up` serves once it listens: the API server, its MCP server, the URL and a first token. */
export type Served = {
  readonly server: Awaited<ReturnType<typeof createServer>>;
  readonly mcp: ReturnType<typeof createMeshMcpServer>;
  readonly url: string;
  readonly first: { readonly token: string } | undefined;
  readonly tokenFile: string;
};

/**
 * Opens the tokens, builds the API (with the MCP and A2A doors), listens, makes a first admin token
 * for a new data directory, and starts verifying the ledger in the background. Returns the exit code
 * when one step fails, having closed what it opened and the mesh.
 */
export async function serve(
  opened: OpenedMesh & { close(): Promise<void> },
  opts: Pick<UpOptions, 'port' | 'host' | 'rateLimit' | 'cluster'> & {
    readonly dataDir: string;
    /** Resolves when a signal asks `up` to stop. */
    readonly stopped: Promise<void>;
    /** `GET /metrics` (cli/telemetry.ts), when MESHWARDEN_METRICS_TOKEN is set. */
    readonly metrics?: MetricsEndpoint;
    /** The API's requests, measured when telemetry is on. */
    readonly requests?: RequestObserver;
    /** Each verify of the ledger as it ends, when telemetry is on. */
    readonly verified?: (ok: boolean, atMs: number) => void;
    /** Frees the port just before the API listens on it (what answered while the mesh opened). */
    readonly beforeListen?: () => Promise<void>;
  },
  out: Output,
  log: Logger,
): Promise<Served | number> {
  const { mesh, ledger } = opened;
  const tokenFile = join(opts.dataDir, 'tokens.json');
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
    ...(opts.metrics === undefined ? {} : { metrics: opts.metrics }),
    ...(opts.requests === undefined ? {} : { requests: opts.requests }),
    ...(opts.verified === undefined ? {} : { verified: opts.verified }),
  });
  let url: string;
  try {
    // Loaded first (routes, plugins), so the port is free only for the moment the listen takes.
    await server.app.ready();
    await opts.beforeListen?.();
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

  verifyInBackground(
    server.integrity,
    ledger,
    opts.cluster === undefined ? 'the ledger' : 'the shared ledger',
    opts.stopped,
    out,
    log,
  );
  return { server, mcp, url, first, tokenFile };
}

/**
 * `up`'s verify of the whole ledger, started once it serves: a restart on a large ledger would
 * otherwise stay down for it (minutes at 10 million entries), and a ledger found not intact is said
 * and alerted (ledger.verify_failed), never refused, before serving or after. It says how it came
 * out; a failure to read is logged, never thrown.
 */
function verifyInBackground(
  integrity: Served['server']['integrity'],
  ledger: OpenedMesh['ledger'],
  which: string,
  stopped: Promise<void>,
  out: Output,
  log: Logger,
): void {
  // A verify a signal cut short reads on until the ledger closes: silent meanwhile.
  let cutShort = false;
  void stopped.then(() => {
    cutShort = true;
  });
  const entries = (n: number) => `${n.toLocaleString('en')} ${n === 1 ? 'entry' : 'entries'}`;
  void (async () => {
    // As stored: a cluster node's writer knows only the partitions it writes.
    const size = sizeOf(await ledger.storedHeads());
    // "So far": it reads what is stored when it gets there, so it ends on more when traffic flows.
    out.note(`verifying ${which} (${entries(size)} so far) in the background …`);
    const progress = sayProgress(out, 'verified', size);
    const verified = await integrity.verify((n) => {
      if (!cutShort) progress(n);
    });
    if (cutShort) return;
    if (verified.ok) return out.note(`${which} is intact: ${entries(verified.entries)} verified`);
    out.note(`warning: the ledger is NOT intact (${verified.firstBad?.detail}); run meshwarden audit verify`);
    // Also in the log, where a log pipeline alerting on errors sees it.
    log.error({ firstBad: verified.firstBad }, 'the ledger is NOT intact: run meshwarden audit verify');
  })().catch((err: unknown) => {
    // Stopped meanwhile, the ledger closed under it: nothing to report.
    if (isMeshwardenError(err) && err.code === 'MW_LEDGER_CLOSED') return;
    log.warn({ err }, 'ledger verification failed');
  });
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
export function announce(
  out: Output,
  at: {
    mesh: Mesh;
    url: string;
    durability: string;
    dataDir: string;
    tokenFile: string;
    first: { token: string } | undefined;
    cluster: ClusterOptions | undefined;
    /** `--ledger`, when given. */
    ledgerAt: string | undefined;
  },
): void {
  const { mesh, url, durability, dataDir, tokenFile, first, cluster } = at;
  // A --ledger elsewhere (PostgreSQL, another file) is named, its password never: the data
  // directory then holds the tokens and the checkpoint key only.
  const ledgerText =
    at.ledgerAt === undefined ? `ledger in ${displayPath(dataDir)}` : `ledger at ${ledgerName(at.ledgerAt)}`;
  const ledger = at.ledgerAt === undefined ? ledgerFile(dataDir) : ledgerName(at.ledgerAt);
  const consoleUrl = first === undefined ? `${url}/` : `${url}/#token=${first.token}`;
  if (out.json) {
    out.document({
      mesh: mesh.policy.mesh,
      durability: durability,
      ledger,
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
        ? `Meshwarden is up: mesh ${mesh.policy.mesh}, ${ledgerText} (durability ${durability})`
        : `Meshwarden is up: node ${cluster.node} of mesh ${mesh.policy.mesh} on ${cluster.servers}, ${ledgerText} (${mesh.policy.partitions} ${mesh.policy.partitions === 1 ? 'partition' : 'partitions'} shared by the live nodes; durability ${durability})`,
    );
    // Only a first start prints a token: later, say what signs in and where a lost one comes from.
    out.line(
      first === undefined
        ? `  console  ${consoleUrl}  (sign in with a token; the admin token was printed at the first start, and a lost one is made anew as docs/api.md says)`
        : `  console  ${consoleUrl}`,
    );
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

/**
 * What a node that joins a cluster says of it: live nodes that run another policy (a rolling restart
 * with a new mesh file, or a node started with the wrong one: each partition is decided under its
 * owner's policy until every node runs the same file), and a mesh whose stream predates packing
 * several items a JetStream message. `GET /cluster` shows both for every node.
 */
export async function sayClusterNotes(
  control: Pick<ClusterControl, 'nodes' | 'node'>,
  digest: string,
  out: Pick<Output, 'note'>,
  log: Logger,
): Promise<void> {
  try {
    const nodes = await control.nodes();
    if (nodes.find((n) => n.node === control.node)?.itemsPerMessage === 1)
      out.note(
        "note: this mesh's stream was made before nodes packed several items a JetStream message, so every node sends one item a message (docs/distributed.md, 'The wire', says how to turn packing on)",
      );
    const others = nodes.filter(
      (n) => n.node !== control.node && n.policyDigest !== undefined && n.policyDigest !== digest,
    );
    if (others.length === 0) return;
    const which = others.map((n) => `${n.node} (${n.policyDigest})`).join(', ');
    out.note(
      `warning: ${others.length === 1 ? 'node' : 'nodes'} ${which} ${others.length === 1 ? 'runs' : 'run'} another policy than this node (${digest}): each partition is decided under its owner's policy until every node runs the same mesh file`,
    );
  } catch (err) {
    // Only a note: the node serves whatever the control channel answered.
    log.debug({ err }, 'could not compare the policy with the other nodes');
  }
}
