import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { createAlertSinks } from '../../interop/index.js';
import {
  type ClusterControl,
  type ClusterOptions,
  clusterCounts,
  type Durability,
  driftAlarmsSince,
  feedFile,
  isMeshwardenError,
  type MeshwardenError,
  type NodeStatus,
  type OpenedMesh,
  openMesh,
  type RunSummary,
  sizeOf,
  storedHeads,
  summarize,
} from '../../runtime/index.js';
import { cliError, EXIT } from '../errors.js';
import { exitOnInterruptWhileOpening } from '../exit.js';
import { sayLedgerMove, sayRecoveryProgress } from '../ledger-access.js';
import { displayPath, headsText, type Output, table } from '../output.js';
import { cliTelemetry } from '../telemetry.js';
import { alertingTransports } from '../transports.js';
import { reportOpenFailure, reportOpenWarnings } from './policy-check.js';

export type RunOptions = {
  mesh: string;
  input?: string;
  data: string;
  json: boolean;
  /** Overrides the mesh file's `ledger.durability`. */
  durability?: Durability;
  /** Where the ledger lives when not `ledger.db` in `data`: another file, or `postgres://…`. */
  ledger?: string;
  /** Join the mesh's cluster as one node (needs a PostgreSQL `ledger`). */
  cluster?: ClusterOptions;
};

/** Opens the mesh, resumes unfinished work, feeds the input, waits for quiescence, summarizes. */
export async function runMesh(
  opts: RunOptions,
  out: Output,
  log: Logger,
  observe?: (opened: OpenedMesh) => void,
): Promise<{ code: number; summary?: RunSummary }> {
  const given = opts.input ?? sampleBeside(opts);
  if (given !== opts.input && given !== undefined)
    out.note(`no --input: feeding ${displayPath(given)}, the messages file beside the mesh file`);
  const input = given === undefined ? undefined : resolve(given);
  if (input !== undefined) {
    try {
      // A directory or a FIFO passes access(); only a regular file is read line by line.
      if (!(await stat(input)).isFile()) throw new Error('not a regular file');
    } catch (cause) {
      out.fail(cliError('MW_CLI_INPUT_MISSING', { file: given ?? '', cause: (cause as Error).message }));
      return { code: EXIT.usage };
    }
  }
  // Closed last (await using, declared first): what the mesh did is exported before exit.
  const observed = cliTelemetry(process.env, log, { serveMetrics: false, note: (text) => out.note(text) });
  if (isMeshwardenError(observed)) {
    out.fail(observed);
    return { code: EXIT.usage };
  }
  await using telemetry = observed;
  const alerting = alertingTransports();
  await using transports = alerting.transports;
  const opening = exitOnInterruptWhileOpening(out);
  const result = await openMesh({
    meshFile: resolve(opts.mesh),
    dataDir: resolve(opts.data),
    log,
    transports: transports.list,
    alertSinks: (specs) => createAlertSinks(specs),
    ...(opts.durability === undefined ? {} : { durability: opts.durability }),
    ...(opts.ledger === undefined ? {} : { ledgerAt: opts.ledger }),
    ...(opts.cluster === undefined ? {} : { cluster: opts.cluster }),
    ...(telemetry.telemetry === undefined ? {} : { telemetry: telemetry.telemetry }),
    onLedgerMove: sayLedgerMove(out),
    onRecoveryProgress: sayRecoveryProgress(out),
  }).finally(opening.done);
  if (!result.ok) return { code: reportOpenFailure(result, opts.mesh, out) };
  reportOpenWarnings(result, out);
  await using opened = result.opened;
  alerting.bind(opened.mesh);
  observe?.(opened);
  if (opened.resumed > 0)
    out.note(`resuming ${opened.resumed} admitted message(s) a previous run did not finish`);
  // The sample fed unasked into a ledger earlier runs filled: its messages are new cases beside
  // theirs, so budgets and breakers already spent may decide them otherwise. Say so, not silently.
  const startHeads = opened.ledger.heads();
  // Less the `policy.loaded` this run has just recorded: what earlier runs left.
  const earlier = sizeOf(startHeads) - 1;
  if (given !== opts.input && given !== undefined && earlier > 0)
    out.note(
      `the ledger in ${displayPath(resolve(opts.data))} already holds ${earlier.toLocaleString('en')} entries from earlier runs: these messages are new cases beside them (a new --data starts afresh)`,
    );

  // Ctrl-C or SIGTERM: stop reading input, let admitted work finish, flush the ledger.
  const stop = new AbortController();
  let interruptedBy: string | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    out.note('stopping: finishing admitted work and flushing the ledger (signal again to force)');
    interruptedBy = signal;
    stop.abort();
    process.once('SIGINT', () => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // A ledger that closes on an error (a fenced or failed commit) ends the run: stop reading input.
  let failure: MeshwardenError | undefined;
  void opened.ledger.closed.then((closed) => {
    if (!isMeshwardenError(closed)) return;
    failure = closed;
    stop.abort();
  });
  // A cluster node's summary counts what every node decided during the run (their counts before it).
  const control = opened.control;
  const before = control === undefined ? undefined : await control.nodes();
  const started = Date.now();
  let nextNote = started + 2_000;
  let linesRead = 0;
  /** The signal that stopped the input being fed, if one came while it was. */
  let cutShortBy: string | undefined;
  try {
    if (input !== undefined) {
      linesRead = await feedFile(
        opened.mesh,
        input,
        (lines) => {
          if (Date.now() < nextNote) return;
          nextNote = Date.now() + 2_000;
          const c = opened.mesh.counts();
          out.note(
            `… ${lines} lines read, ${c.messages.admitted} admitted, ${sizeOf(opened.ledger.heads())} ledger entries`,
          );
        },
        stop.signal,
      );
      cutShortBy = interruptedBy;
    }
    await opened.mesh.idle();
    if (control !== undefined) {
      out.note('waiting until the whole mesh is quiet (no item on the stream, no node working) …');
      await control.quiet(100, stop.signal);
    }
    await opened.ledger.flush();
  } catch (err) {
    // Work that failed because the ledger closed: the ledger's error is the one to report.
    if (failure === undefined && !isMeshwardenError(err)) throw err;
    failure ??= err as MeshwardenError;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (failure !== undefined) {
    out.fail(failure);
    return { code: EXIT.failed };
  }
  const { mesh, ledger } = opened;
  const counted =
    control === undefined || before === undefined
      ? summarize(mesh.counts(), mesh.state, ledger, mesh.policy)
      : await clusterSummary(control, before, opened);
  // Read back from this node's partitions: an `action: alert` monitor leaves no breaker to show.
  const summary: RunSummary = {
    ...counted,
    driftAlarms: await driftAlarmsSince(ledger, startHeads),
    ...(cutShortBy === undefined ? {} : { interrupted: { signal: cutShortBy, linesRead } }),
  };
  if (observe === undefined) {
    if (out.json) out.document(summary);
    else printSummary(summary, out);
    if (!out.json && control === undefined && summary.messages.held + summary.effects.held > 0)
      out.line(
        `next: what is held waits for a pilot: meshwarden up ${displayPath(resolve(opts.mesh))} --data ${displayPath(resolve(opts.data))} serves it to the console and to meshwarden approvals list`,
      );
  }
  if (control !== undefined) {
    // Closed here, not at the function's end, to say whether leaving the mesh had to give up a wait.
    // A failure is left to the disposal at the end, which meets the same error and reports it typed.
    await opened.close().catch(() => {});
    if (opened.leftUnsettled?.() === true)
      out.note(
        `left the mesh with work in flight that did not settle within 30 s (the log says which wait ran out); what this node had not acknowledged stays in the stream for the partitions' next owners`,
      );
  }
  return { code: EXIT.ok, summary };
}

/** The summary of a cluster node's run: what every node decided meanwhile, the mesh's breakers. */
async function clusterSummary(
  control: ClusterControl,
  before: readonly NodeStatus[],
  opened: OpenedMesh,
): Promise<RunSummary> {
  const { counts, state } = clusterCounts(before, await control.nodes());
  const summary = summarize(counts, state, opened.ledger, opened.mesh.policy);
  // The writer knows the heads of the partitions this node owns; the store holds every node's.
  const heads = await storedHeads(opened.ledger, opened.mesh.policy.partitions);
  const ledger = { entries: await opened.ledger.count(), head: heads[0]?.head ?? '', heads };
  return { ...summary, ledger };
}

export function printSummary(s: RunSummary, out: Output): void {
  const m = s.messages;
  const e = s.effects;
  out.line(
    table([
      [
        'messages',
        `${m.admitted} admitted`,
        `${m.delivered} delivered`,
        `${m.denied} denied`,
        `${m.held} held`,
        `${m.quarantined} quarantined`,
      ],
      [
        'effects',
        `${e.executed} executed`,
        `${e.denied} denied`,
        `${e.held} held`,
        `${e.quarantined} quarantined`,
        `${e.failed} failed`,
      ],
    ]),
  );
  if (s.deadLetters > 0) out.line(`dead letters: ${s.deadLetters}`);
  const { approved, rejected, timedOut } = s.answered;
  if (approved + rejected + timedOut > 0)
    out.line(`holds answered: ${approved} approved, ${rejected} rejected by a pilot, ${timedOut} timed out`);
  if (s.recovered > 0) out.line(`resumed from a previous run: ${s.recovered}`);
  if (s.interrupted !== undefined)
    out.line(
      `interrupted by ${s.interrupted.signal} after ${s.interrupted.linesRead} input line(s): any after them were not fed`,
    );
  for (const [rule, n] of Object.entries(s.predicateErrors))
    out.line(`alert: approval ${rule} could not be evaluated on ${n} message(s), each held for a pilot`);
  for (const a of s.driftAlarms ?? [])
    out.line(
      `drift alarm ${a.monitor}: ${a.agent} ${a.type} ${a.field} ${a.metric} ${a.score} ≥ ${a.threshold} (${a.action})`,
    );
  for (const b of s.breakers) out.line(`breaker ${b.id} open for ${b.key} (${b.action}) by ${b.by}`);
  if (s.frozen.length > 0) out.line(`frozen: ${s.frozen.join(', ')}`);
  out.line(`ledger: ${s.ledger.entries} entries, ${headsText(s.ledger.heads)}`);
}

/**
 * `run` without `--input`, embedded: the `messages.jsonl` that `init` scaffolds beside mesh.yaml, so
 * `meshwarden init && meshwarden run` shows the mesh at work. A cluster node feeds nothing unasked.
 */
function sampleBeside(opts: RunOptions): string | undefined {
  if (opts.cluster !== undefined) return undefined;
  const sample = join(dirname(resolve(opts.mesh)), 'messages.jsonl');
  return existsSync(sample) ? sample : undefined;
}
