import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { createAlertSinks } from '../../interop/index.js';
import {
  type ClusterOptions,
  type Durability,
  feedFile,
  isMeshwardenError,
  openMesh,
  sizeOf,
} from '../../runtime/index.js';
import { openStartingDoor } from '../../server/index.js';
import { cliError, EXIT } from '../errors.js';
import { exitOnInterruptWhileOpening } from '../exit.js';
import { sayLedgerMove, sayRecoveryProgress } from '../ledger-access.js';
import { displayPath, headsText, type Output } from '../output.js';
import { cannotListen } from '../port-probe.js';
import { cliTelemetry } from '../telemetry.js';
import { alertingTransports } from '../transports.js';
import { reportOpenFailure, reportOpenWarnings } from './policy-check.js';
import { announce, sayClusterNotes, serve } from './up-serve.js';

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
  // Closed after the mesh (await using, declared first): the last spans and metrics are exported.
  const observed = cliTelemetry(process.env, log, { serveMetrics: true, note: (text) => out.note(text) });
  if (isMeshwardenError(observed)) {
    out.fail(observed);
    return EXIT.usage;
  }
  await using telemetry = observed;
  // After the environment's checks (a usage error, exit 2, is said first), before the mesh opens.
  const busy = await cannotListen(opts.host, opts.port);
  if (busy !== undefined) {
    out.fail(cliError('MW_CLI_LISTEN', { host: opts.host, port: opts.port, cause: busy }));
    return EXIT.failed;
  }
  // The port answers 503 MW_API_STARTING while the mesh opens (minutes on a large ledger), where it
  // would refuse connections; not for --port 0, whose port nobody knows before it is printed. Freed
  // just before the API listens (serve's beforeListen), or, when up returns before, as it returns.
  let progress = 'opening the mesh';
  await using door =
    opts.port === 0
      ? undefined
      : await openStartingDoor({ port: opts.port, host: opts.host, progress: () => progress }).catch(
          (err: unknown) => {
            // The API's own listen says what is wrong with the port, if anything still is.
            log.debug({ err }, 'the port could not answer while the mesh opens');
            return undefined;
          },
        );
  const sayProgress = sayRecoveryProgress(out);
  // Closed after the mesh (await using, declared first): MCP servers get a graceful stop.
  const alerting = alertingTransports();
  await using transports = alerting.transports;
  const opening = exitOnInterruptWhileOpening(out);
  const result = await openMesh({
    meshFile: resolve(opts.mesh),
    dataDir,
    log,
    transports: transports.list,
    alertSinks: (specs) => createAlertSinks(specs),
    ...(opts.durability === undefined ? {} : { durability: opts.durability }),
    ...(opts.ledger === undefined ? {} : { ledgerAt: opts.ledger }),
    ...(opts.cluster === undefined ? {} : { cluster: opts.cluster }),
    ...(telemetry.telemetry === undefined ? {} : { telemetry: telemetry.telemetry }),
    onLedgerMove: sayLedgerMove(out),
    onRecoveryProgress: (read) => {
      progress = `recovering its state from the ledger: ${read.read.toLocaleString('en')} of ${read.total.toLocaleString('en')} entries read`;
      sayProgress(read);
    },
  }).finally(opening.done);
  if (!result.ok) return reportOpenFailure(result, opts.mesh, out);
  progress = 'starting the API';
  reportOpenWarnings(result, out);
  const opened = result.opened;
  const { mesh, ledger } = opened;
  alerting.bind(mesh);
  if (opened.resumed > 0)
    out.note(`resuming ${opened.resumed} admitted message(s) a previous run did not finish`);

  // The mesh runs from here (resumed work included): a signal stops it the slow way, even during the
  // start-up verify, which it cuts short. Ready before saying it is up: whoever reads the URLs may
  // signal at once.
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

  const served = await serve(
    opened,
    {
      ...opts,
      dataDir,
      stopped,
      ...(door === undefined ? {} : { beforeListen: () => door.close() }),
      ...(telemetry.metrics === undefined ? {} : { metrics: telemetry.metrics }),
      ...(telemetry.telemetry === undefined
        ? {}
        : { requests: telemetry.telemetry.request, verified: telemetry.telemetry.ledgerVerified }),
    },
    out,
    log,
  );
  if (typeof served === 'number') {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    return served;
  }
  const { server, mcp, url, first, tokenFile } = served;

  if (!['127.0.0.1', 'localhost', '::1'].includes(opts.host)) {
    out.note(
      `warning: listening on ${opts.host}, so other machines can reach the API; tokens are its only guard, and it speaks plain HTTP (put TLS in front)`,
    );
  }
  announce(out, {
    mesh,
    url,
    durability: ledger.durability,
    dataDir,
    tokenFile,
    first,
    cluster: opts.cluster,
    ledgerAt: opts.ledger,
  });

  if (telemetry.metrics !== undefined)
    out.note(`Prometheus metrics at ${url}/metrics, to the bearer token in MESHWARDEN_METRICS_TOKEN`);
  if (opened.control !== undefined) void sayClusterNotes(opened.control, mesh.policy.digest, out, log);

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
  // The API refuses new calls (503 MW_API_CLOSING) but keeps its port while the mesh drains (a
  // cluster node hands its partitions off): callers and probes get an answer, not a refused connection.
  try {
    await server.refuseCalls();
    await mcp.close();
    await opened.close();
  } finally {
    await server.close();
  }
  if (failure !== undefined) {
    out.fail(failure);
    out.note('stopped: the ledger closed on that error; meshwarden audit verify shows what it holds');
    return EXIT.failed;
  }
  if (opts.cluster !== undefined) {
    // The writer's heads are those of partitions it held; the others moved on elsewhere.
    out.note(
      opened.leftUnsettled?.() === true
        ? `stopped: node ${opts.cluster.node} handed its partitions off, leaving work in flight that did not settle within 30 s (the log says which wait ran out); what it had not acknowledged stays in the stream for the partitions' next owners`
        : `stopped cleanly: node ${opts.cluster.node} handed its partitions off to the nodes still live, if any`,
    );
    return EXIT.ok;
  }
  const heads = ledger.heads();
  out.note(`stopped cleanly: ${sizeOf(heads).toLocaleString('en')} ledger entries, ${headsText(heads)}`);
  return EXIT.ok;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
