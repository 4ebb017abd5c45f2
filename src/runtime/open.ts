import { mkdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { isMeshwardenError, type MeshwardenError } from '../envelope/index.js';
import {
  type Durability,
  type Ledger,
  type LedgerReader,
  locationScheme,
  type OpenLedgerOptions,
  openLedgerAt,
} from '../ledger/index.js';
import { loadPolicy, type Policy, type PolicyIssue } from '../policy/index.js';
import type { AlertSink, AlertSinkFactory } from './alert-sink.js';
import type { ClusterControl } from './cluster-control.js';
import type { Clock } from './envelopes.js';
import { systemClock } from './envelopes.js';
import { partitionsChanged } from './errors.js';
import { createMesh, type Mesh, type MeshOptions } from './mesh.js';
import { type LoadedModules, loadModules } from './modules.js';
import { type ClusterLink, type ClusterOptions, linkCluster, sharedLedgerProblem } from './open-cluster.js';
import { nodeLog, openClusterNode } from './open-node.js';
import type { PartitionLeases } from './partition-leases.js';
import { ENTRY, policyLoadedRecord } from './records.js';
import type { RecoveryProgress } from './recovery.js';
import { readerOf } from './reload-policy.js';
import type { MeshTelemetry } from './telemetry.js';
import type { Transport } from './transports.js';

export type OpenedMesh = {
  readonly mesh: Mesh;
  readonly ledger: Ledger;
  readonly resumed: number;
  /** Distributed mode: this node's leases (which partitions it owns, the live nodes). */
  readonly leases?: PartitionLeases;
  /** Distributed mode: every node's status, pilot actions routed to owners, mesh-wide quiet. */
  readonly control?: ClusterControl;
  /** Distributed mode, once closed: true when a wait for work in flight ran out (closing went on without it). */
  readonly leftUnsettled?: () => boolean;
};

export type OpenMeshResult =
  | {
      readonly ok: true;
      readonly opened: OpenedMesh & AsyncDisposable & { close(): Promise<void> };
      /** What `policy check` warns of in the file (MW_POLICY_MAPPING_BRACES…), for the caller to say. */
      readonly warnings?: readonly PolicyIssue[];
    }
  | {
      readonly ok: false;
      readonly policyIssues?: readonly PolicyIssue[];
      readonly errors?: readonly MeshwardenError[];
    };

/** The ledger file inside a data directory. */
export function ledgerFile(dataDir: string): string {
  return join(dataDir, 'ledger.db');
}

/** The checkpoint key inside a data directory, whatever the ledger's engine. */
export function ledgerKeyFile(dataDir: string): string {
  return join(dataDir, 'ledger.key');
}

/**
 * Opens the ledger at `location` (default `ledger.db` in `dataDir`), its checkpoint key in
 * `dataDir` whatever the engine. An I/O failure of the adapter (a server that cannot be reached)
 * comes back as an error value too, for the shell to report.
 */
export async function openLedgerIn(
  dataDir: string,
  location: string | undefined,
  opts: OpenLedgerOptions = {},
): Promise<Ledger | MeshwardenError> {
  try {
    return await openLedgerAt(location ?? ledgerFile(dataDir), {
      ...opts,
      keyFile: ledgerKeyFile(dataDir),
    });
  } catch (err) {
    if (isMeshwardenError(err)) return err;
    throw err;
  }
}

/** A move of the SQLite ledger between schema versions: `moving` (with the entries it reads), then `moved`. */
export type LedgerMove =
  | { readonly phase: 'moving'; readonly from: string; readonly to: string; readonly entries: number }
  | { readonly phase: 'moved'; readonly from: string; readonly to: string };

/**
 * Loads the policy and the agent modules, opens the ledger in `dataDir`, records the policy, and
 * resumes work a previous process admitted but did not finish. The shell's one way in.
 */
export async function openMesh(opts: {
  meshFile: string;
  dataDir: string;
  log: Logger;
  clock?: Clock;
  retry?: MeshOptions['retry'];
  /**
   * How `url:` and `a2a:` agents and `mcp:` effects are reached (interop/); without one, such agents
   * and effects are refused. The MCP transport also reads the input schemas of tools whose effects
   * have no contract file.
   */
  transports?: readonly Transport[];
  /** Overrides the policy's `ledger.durability` (the CLI's `--durability`). */
  durability?: Durability;
  /**
   * Where the ledger lives, as `openLedgerAt` reads it: a SQLite file (default `ledger.db` in
   * `dataDir`) or `postgres://…`; a location no adapter serves fails as MW_LEDGER_LOCATION, a
   * server that cannot be reached as MW_LEDGER_IO.
   */
  ledgerAt?: string;
  /**
   * Distributed mode: join the mesh's cluster on NATS as one node (open-cluster.ts). Needs a
   * PostgreSQL `ledgerAt`, which every node shares.
   */
  cluster?: ClusterOptions;
  /**
   * Builds the sinks of the policy's `alerts:` (interop's createAlertSinks), reading their secrets
   * now: a missing one fails the start. Without it, nothing is alerted.
   */
  alertSinks?: AlertSinkFactory;
  /** Traces and metrics (telemetry/, wired by cli/); off when absent. */
  telemetry?: MeshTelemetry;
  /** How long closing waits for alerts in flight before it aborts them (default 10 s); tests shorten it. */
  alertCloseWaitMs?: number;
  /**
   * Told when this open moves the SQLite ledger from an older schema version (docs/ledger.md, "Schema
   * versions"): as it begins (it may take seconds) and once it is done. The move is one way, so the
   * CLI says so whatever its log level; it is logged as a warning too.
   */
  onLedgerMove?: (move: LedgerMove) => void;
  /**
   * Told as the embedded mesh rebuilds its state from the ledger and finds the work to resume: the
   * whole ledger is read, seconds for millions of entries (recovery.ts, RecoveryProgress).
   */
  onRecoveryProgress?: RecoveryProgress;
}): Promise<OpenMeshResult> {
  const transports = opts.transports ?? [];
  const loaded = await loadPolicy(opts.meshFile, readerOf(transports));
  if (!loaded.ok) return { ok: false, policyIssues: loaded.issues };
  const policy = loaded.policy;
  const sinks = policy.alerts === undefined ? undefined : opts.alertSinks?.(policy.alerts.sinks);
  if (sinks !== undefined && !isSinkMap(sinks)) return { ok: false, errors: sinks };

  const modules = await loadModules(policy, transports);
  if (!modules.ok) return { ok: false, errors: modules.errors };
  const unshared = opts.cluster === undefined ? undefined : sharedLedgerProblem(opts.ledgerAt ?? '');
  if (unshared !== undefined) return { ok: false, errors: [unshared] };
  // The ledger and the tokens are the owner's alone: a data directory made here is 0700.
  const made = await mkdir(opts.dataDir, { recursive: true, mode: 0o700 });
  const opened = await openInDataDir(
    policy,
    modules.modules,
    sinks === undefined ? opts : { ...opts, sinks },
  );
  // A start that failed leaves no empty data directory of its own making behind.
  if (!opened.ok && made !== undefined) await rmdir(opts.dataDir).catch(() => {});
  const warnings = loaded.warnings ?? [];
  return opened.ok && warnings.length > 0 ? { ...opened, warnings } : opened;
}

/** openMesh's options, with the alert sinks once built. */
export type OpenOptions = Parameters<typeof openMesh>[0] & { sinks?: ReadonlyMap<string, AlertSink> };

function isSinkMap(
  sinks: ReadonlyMap<string, AlertSink> | readonly MeshwardenError[],
): sinks is ReadonlyMap<string, AlertSink> {
  return sinks instanceof Map;
}

/** openMesh once its data directory exists: opens the ledger, then the mesh on it. */
async function openInDataDir(
  policy: Policy,
  modules: LoadedModules,
  opts: OpenOptions,
): Promise<OpenMeshResult> {
  const durability = opts.durability ?? policy.ledger.durability;
  const shared = opts.cluster === undefined ? {} : { shared: true };
  // A node reaches NATS before it opens the shared ledger: one that cannot (or that the stream
  // refuses) leaves no new schema behind in PostgreSQL.
  let link: ClusterLink | undefined;
  if (opts.cluster !== undefined) {
    try {
      link = await linkCluster(policy, opts.cluster, opts.ledgerAt ?? '', nodeLog(opts.log, opts.cluster));
    } catch (err) {
      if (isMeshwardenError(err)) return { ok: false, errors: [err] };
      throw err;
    }
  }
  const unlink = () => link?.close().catch(() => {});
  const ledger = await openLedgerIn(opts.dataDir, opts.ledgerAt, {
    origin: policy.mesh,
    durability,
    ...shared,
    // A warning, as the move's end is: the CLI logs warnings by default, and the move may take seconds.
    onUpgradeStart: (from, to, entries) => {
      opts.log.warn(
        { layer: 'ledger', from, to, entries },
        `moving the ledger from schema version ${from} to ${to}: ${entries.toLocaleString('en')} entries, about a second a million …`,
      );
      opts.onLedgerMove?.({ phase: 'moving', from, to, entries });
    },
    onUpgrade: (from, to) => {
      opts.log.warn(
        { layer: 'ledger', from, to },
        `ledger moved from schema version ${from} to ${to}; versions of Meshwarden older than this one now refuse it (docs/ledger.md, "Schema versions")`,
      );
      opts.onLedgerMove?.({ phase: 'moved', from, to });
    },
  });
  if (isMeshwardenError(ledger)) {
    // Its ledger is another mesh's: the stream this node made for its mesh name goes with it (any
    // node that bound it since is as misplaced); another failure leaves the stream to the mesh.
    if (ledger.code === 'MW_LEDGER_OTHER_MESH') await link?.abandon().catch(() => {});
    else await unlink();
    return { ok: false, errors: [ledger] };
  }
  try {
    const opened = await openOnLedger(ledger, policy, modules, durability, { ...opts, link });
    if (!opened.ok) await unlink();
    return opened;
  } catch (err) {
    // A read or an append that fails before the mesh is handed over (the ledger's server gone, a
    // ledger recovery cannot read) closes what was opened, and is a value when it is typed.
    await ledger.close().catch(() => {});
    await unlink();
    if (isMeshwardenError(err)) return { ok: false, errors: [err] };
    throw err;
  }
}

/** The rest of openMesh, once its ledger is open: the caller closes the ledger if this throws. */
async function openOnLedger(
  ledger: Ledger,
  policy: Policy,
  modules: LoadedModules,
  durability: Durability,
  opts: Pick<
    OpenOptions,
    | 'clock'
    | 'retry'
    | 'transports'
    | 'log'
    | 'ledgerAt'
    | 'cluster'
    | 'sinks'
    | 'telemetry'
    | 'alertCloseWaitMs'
    | 'onRecoveryProgress'
  > & {
    /** A cluster node's link to NATS, made before the ledger was opened. */
    readonly link: ClusterLink | undefined;
  },
): Promise<OpenMeshResult> {
  // Every chain belongs to one partition for good: another count would put subjects in other chains.
  const recorded = await recordedPartitions(ledger);
  if (recorded !== undefined && recorded !== policy.partitions) {
    await ledger.close();
    const engine = locationScheme(opts.ledgerAt ?? '')?.startsWith('postgres') ? 'postgres' : 'sqlite';
    const changed = partitionsChanged(policy, recorded, engine);
    return { ok: false, errors: [changed] };
  }
  const clock = opts.clock ?? systemClock;
  if (opts.cluster !== undefined && opts.link !== undefined)
    return openClusterNode(ledger, policy, modules, { ...opts, cluster: opts.cluster, link: opts.link });
  const mesh = createMesh({
    policy,
    ledger,
    modules,
    transports: opts.transports ?? [],
    log: opts.log.child({ layer: 'runtime' }),
    clock,
    ...(opts.retry === undefined ? {} : { retry: opts.retry }),
    ...(opts.sinks === undefined ? {} : { alertSinks: opts.sinks }),
    ...(opts.telemetry === undefined ? {} : { telemetry: opts.telemetry }),
    ...(opts.alertCloseWaitMs === undefined ? {} : { alertCloseWaitMs: opts.alertCloseWaitMs }),
  });
  const close = async () => {
    await mesh.close();
    await ledger.close();
  };
  let resumed: number;
  try {
    // The policy is on record before anything is decided or resumed under it.
    await ledger.append(
      policyLoadedRecord(clock(), policy.mesh, policy.digest, policy.file, durability, policy.partitions),
    );
    resumed = await mesh.recover(opts.onRecoveryProgress);
  } catch (err) {
    // A ledger recovery cannot read (entries in a partition this policy does not have) is refused.
    await close();
    throw err;
  }
  return { ok: true, opened: { mesh, ledger, resumed, close, [Symbol.asyncDispose]: close } };
}

/**
 * The partition count the ledger was last opened with: its latest `policy.loaded` (or, distributed,
 * `partition.owned`) entry's `partitions`, 1 for one written before that field was recorded,
 * nothing for a new ledger.
 */
async function recordedPartitions(ledger: Pick<LedgerReader, 'scan'>): Promise<number | undefined> {
  let recorded: number | undefined;
  for await (const entry of ledger.scan({ kinds: [ENTRY.policyLoaded, ENTRY.partitionOwned] })) {
    const { partitions } = entry.data as { partitions?: unknown };
    recorded = typeof partitions === 'number' ? partitions : 1;
  }
  return recorded;
}
