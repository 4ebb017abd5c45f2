import type { Logger } from 'pino';
import { isMeshwardenError, type MeshwardenError } from '../envelope/index.js';
import {
  type LedgerEntry,
  type LedgerReader,
  type LedgerWriter,
  type PartitionSnapshots,
  sizeOf,
} from '../ledger/index.js';
import type { Policy } from '../policy/index.js';
import type { ActivePolicy } from './active.js';
import type { RootMessage } from './admission.js';
import type { AlertSink } from './alert-sink.js';
import { scanSince } from './alert-start-scan.js';
import { ALERT_SENT, createAlerter, type UnstartedSink } from './alerter.js';
import type { RetryOptions } from './delivery.js';
import {
  type Clock,
  createEnvelopeFactory,
  type EnvelopeFactory,
  type Random,
  systemClock,
  systemRandom,
} from './envelopes.js';
import { runtimeError } from './errors.js';
import { createEventHub, type MeshEvent, type OutsideAlarm, type RunCounts, zeroCounts } from './events.js';
import type { HoldView } from './holds.js';
import { deliveryOverPartitions } from './mesh-delivery.js';
import { createMeshLife } from './mesh-life.js';
import { createPartitionOwnership, type PartitionOwnership } from './mesh-ownership.js';
import { reloadActivePolicy } from './mesh-reload.js';
import type { LoadedModules } from './modules.js';
import { createPartitionRouter, type RouterCluster } from './partition-router.js';
import { createPartition, type Partition } from './partitions.js';
import { createPilotActions, type PilotActions, routedPilot } from './pilot.js';
import type { PilotAction } from './pilot-decision.js';
import { ENTRY } from './records.js';
import { type RecoveryProgress, recoverPartitions } from './recovery.js';
import type { RejectedInput } from './rejected.js';
import { type MeshStateView, openAtClock, viewOverPartitions } from './state-view.js';
import { type MeshTelemetry, noTelemetry } from './telemetry.js';
import type { Transport } from './transports.js';
import { waitingAlarms } from './waiting-alarms.js';
import { createWorkTracker } from './work.js';

export type MeshOptions = {
  readonly policy: Policy;
  /** The ledger's ports: the mesh appends through the writer and reads (recovery, duplicate ids) through the reader. */
  readonly ledger: LedgerWriter & LedgerReader & Partial<PartitionSnapshots>;
  readonly modules: LoadedModules;
  /** How remote agents are reached; kept for reloads. */
  readonly transports?: readonly Transport[];
  readonly log: Logger;
  readonly clock?: Clock;
  readonly random?: Random;
  readonly retry?: Partial<RetryOptions>;
  /** Handlers and executors running at once (default 256). */
  readonly concurrency?: number;
  /**
   * The sinks the policy's `alerts.sinks` name, built by the shell (interop/alerts/): alarms this
   * mesh raises are routed to them (alerter.ts). Without it, a route is recorded as failed
   * (MW_RUNTIME_ALERT_SINK), never silently dropped.
   */
  readonly alertSinks?: ReadonlyMap<string, AlertSink>;
  /** How long closing waits for alerts in flight before it aborts them (default 10 s). */
  readonly alertCloseWaitMs?: number;
  /**
   * Distributed mode: the mesh's bus (JetStream), this node's name, its replies, and how a pilot's
   * action on a partition another node owns reaches that node. The mesh then decides only for the
   * partitions it is given (`Mesh.node`), and publishes the rest.
   */
  /**
   * Traces and metrics (telemetry/, wired by cli/); off by default. The mesh tells it decisions,
   * deliveries and ledger appends, and registers its gauges (holds, open breakers, dead letters).
   */
  readonly telemetry?: MeshTelemetry;
  readonly cluster?: Omit<RouterCluster, 'newId' | 'lookup'> & {
    /** The node's id in the mesh (`--node`), as `partition.owned` records it. */
    readonly name: string;
    readonly routePilot: (action: PilotAction) => Promise<LedgerEntry>;
    /** Partitions no live node holds a lease on now, as this node's leases last listed them. */
    readonly unowned: () => number;
  };
};

/** A mesh's side as one node of a cluster (distributed mode). */
export type MeshNode = PartitionOwnership & {
  readonly name: string;
  /** Pilot actions on this node's partitions only (what another node routes here). */
  readonly pilot: PilotActions;
  /** Work in flight here: running, queued, awaiting durability, or waiting for an owner's reply. */
  inFlight(): number;
};

export type { RejectedInput } from './rejected.js';
export type { MeshStateView } from './state-view.js';

export type Mesh = {
  readonly policy: Policy;
  /** A read-only view over every partition's state (one partition: its state). */
  readonly state: MeshStateView;
  /** The transports remote agents were connected with (a reload connects new ones the same way). */
  readonly transports: readonly Transport[];
  /**
   * Gates a root message from an ingress; resolves with the decision entry once it is durable, or
   * rejects with a typed error (`MW_RUNTIME_CLOSED`, `MW_RUNTIME_ID_READ`, a ledger error). Not an
   * `ActionResult`: a gate's refusal is a recorded decision, not an error, and nothing is refused
   * before the bus but a closed mesh, so every door awaits one promise.
   */
  inject(ingress: string, input: RootMessage): Promise<LedgerEntry>;
  /** Records input that could not become an envelope (quarantined at the `ingress` stage); rejects like `inject`. */
  reject(input: RejectedInput): Promise<LedgerEntry>;
  /**
   * Redelivers what the ledger shows admitted but not yet delivered or executed; rebuilds state.
   * `onProgress` is told how many entries are read so far, as recovery.ts says.
   */
  recover(onProgress?: RecoveryProgress): Promise<number>;
  /**
   * Puts a new policy (and its loaded modules) in force for everything decided from now on, after
   * recording it (`policy.loaded`). Refused for another mesh or another partition count. State
   * carries over; approval timers restart under the new rules; agent code already loaded stays.
   */
  reload(policy: Policy, modules: LoadedModules, by?: string): Promise<LedgerEntry> | MeshwardenError;
  /**
   * The alert routes of `policy` whose sink this process was not started with, or whose spec
   * changed since (sinks are built at start): their alerts fail until a restart.
   */
  unstartedSinks(policy: Policy): UnstartedSink[];
  /** What waits for a pilot: approval holds, and messages held by the loop guard or a freeze. */
  held(): HoldView[];
  /** A pilot's approvals, rejections, freezes and resets, each recorded in the ledger. */
  readonly pilot: PilotActions;
  onEvent(listener: (event: MeshEvent) => void): () => void;
  /**
   * Raises an alarm from outside the runtime (a remote agent's circuit opened, the ledger failed
   * verification): published like the mesh's own, so `alerts:` routes it. Recorded in the first
   * partition this node owns; a cluster node that owns none yet (its start-up verify ends before its
   * first take-over) raises it once it owns one.
   */
  raise(alarm: OutsideAlarm): void;
  /** Resolves when nothing is on the bus, queued, awaiting durability or running. */
  idle(): Promise<void>;
  /** Distributed mode: which partitions this node decides for, taking one over or giving it up. */
  readonly node?: MeshNode;
  counts(): RunCounts;
  /** Stops intake, lets in-flight work finish, closes the bus, flushes the ledger. Idempotent. */
  close(): Promise<void>;
  readonly closed: Promise<void | Error>;
  [Symbol.asyncDispose](): Promise<void>;
};

/**
 * A mesh of `policy.partitions` partitions in this process (partitions.ts), fed by an in-process bus
 * (partition-router.ts): `inject` and what handlers emit are published to the partition that owns
 * their subject, whose handler is the only one to gate, record and settle them. Distributed mode
 * swaps the bus and the ledger for their NATS and PostgreSQL adapters; nothing else changes. Its
 * parts: delivery over the partitions (mesh-delivery.ts), eviction, quiescence and close
 * (mesh-life.ts), reload (mesh-reload.ts), recovery (recovery.ts).
 */
export function createMesh(opts: MeshOptions): Mesh {
  const { ledger, log } = opts;
  const active: ActivePolicy = { policy: opts.policy, modules: opts.modules };
  // Fixed for the mesh's life: open and reload refuse another count (MW_RUNTIME_PARTITIONS_CHANGED).
  const count = opts.policy.partitions;
  const clock = opts.clock ?? systemClock;
  const factory = createEnvelopeFactory({
    mesh: opts.policy.mesh,
    maxHops: () => active.policy.guards.loop.maxHops,
    clock,
    random: opts.random ?? systemRandom,
    derivedChildIds: opts.cluster !== undefined,
  });
  const counts = zeroCounts();
  const events = createEventHub(log);
  const { publish, listening } = events;
  const work = createWorkTracker(opts.concurrency ?? 256, taskFailureLog(log));

  // What every partition and the delivery over them share.
  const telemetry = opts.telemetry ?? noTelemetry;
  const shared = { active, ledger, clock, factory, counts, work, log, publish, listening, telemetry };

  const build = (p: number): Partition =>
    createPartition(p, {
      ...shared,
      dispatch: (envelope, gated, consumers) => delivery.dispatch(envelope, gated, consumers),
    });
  const partitions: Partition[] = [];
  for (let p = 0; p < count; p++) partitions.push(build(p));
  const router = createPartitionRouter(partitions, log, routerCluster(opts.cluster, factory, ledger));
  // Distributed mode replaces a partition's slot when it changes owner: the view reads them live.
  const stateHeld =
    opts.cluster === undefined
      ? viewOverPartitions(partitions.map((p) => p.state))
      : viewOverPartitions(() => partitions.map((p) => p.state));
  const stateView = openAtClock(stateHeld, clock);
  const life = createMeshLife({ partitions, router, work, ledger, clock });

  const inject: Mesh['inject'] = (ingress, input) =>
    life.closing ? Promise.reject(runtimeError('MW_RUNTIME_CLOSED')) : router.ingest(ingress, input);

  const delivery = deliveryOverPartitions({ ...shared, partitions, router, inject, retry: opts.retry });
  const waiting = waitingAlarms(publish, clock, log);
  const ownership =
    opts.cluster === undefined
      ? undefined
      : createPartitionOwnership({
          ...shared,
          node: opts.cluster.name,
          partitions,
          build,
          router,
          dispatch: delivery.dispatch,
          onTaken: waiting.raiseIn,
        });
  const localPilot = createPilotActions({
    active,
    partitions,
    partitionOf: router.owner,
    clock,
    work,
    ...(ownership === undefined ? {} : { owns: ownership.owns }),
  });
  const pilot = opts.cluster === undefined ? localPilot : routedPilot(localPilot, opts.cluster.routePilot);
  // Always there, so a reload that adds `alerts:` routes fails loudly (MW_RUNTIME_ALERT_SINK) rather
  // than alerting nothing; it hears only alarms, so decisions cost nothing more (events.ts).
  const alerter = createAlerter({
    policy: () => active.policy,
    sinks: opts.alertSinks ?? new Map(),
    append: (record, partition) => ledger.append(record, partition),
    // Each delivery outcome also counts in the metrics (meshwarden_alerts_total).
    publish: (event) => {
      if (event.type === 'alert-delivery')
        telemetry.alert(event.route, event.sink, event.outcome, event.reason);
      publish(event);
    },
    partitionOf: router.owner,
    stillHeld: (msgId) => heldIn(partitions, ownership).some((h) => h.msgId === msgId),
    clock,
    newId: () => factory.id(),
    log: log.child({ part: 'alerts' }),
    ...(opts.alertCloseWaitMs === undefined ? {} : { closeWaitMs: opts.alertCloseWaitMs }),
  });
  // The alerter hears only what this node decided: the owner of a partition raises its alerts.
  events.subscribeAlarms(alerter.offer);
  const node =
    ownership === undefined
      ? undefined
      : meshNode(ownership, opts.cluster!.name, localPilot, () => work.inFlight + router.open());

  // Read when metrics are collected (a scrape, an export), never on the hot path.
  const unobserve = telemetry.observe({
    holdsPending: () => heldIn(partitions, ownership).length,
    oldestHoldAge: () => {
      const oldest = heldIn(partitions, ownership).reduce(
        (at, h) => Math.min(at, h.heldAt),
        Number.POSITIVE_INFINITY,
      );
      return oldest === Number.POSITIVE_INFINITY ? 0 : Math.max(0, (clock() - oldest) / 1000);
    },
    breakersOpen: () => stateView.openBreakers().length,
    deadLetters: () => counts.deadLetters,
    ledgerEntries: () =>
      sizeOf(ledger.heads().filter((h) => ownership === undefined || ownership.owns(h.partition))),
    ...(ownership === undefined
      ? {}
      : {
          partitionsOwned: () => ownership.owned().length,
          partitionsUnowned: () => opts.cluster!.unowned(),
          takeovers: () => ownership.takeovers(),
        }),
  });
  const close = async (): Promise<void> => {
    unobserve();
    await life.close();
    waiting.close();
    await alerter.close();
  };

  return {
    get policy() {
      return active.policy;
    },
    state: stateView,
    transports: opts.transports ?? [],
    inject,
    reload: (policy, modules, by) =>
      reloadActivePolicy(
        {
          active,
          ledger,
          partitions,
          clock,
          work,
          log,
          clustered: opts.cluster !== undefined,
          retimeAlerts: () => alerter.retime(heldIn(partitions, ownership)),
        },
        policy,
        modules,
        by,
      ),
    unstartedSinks: (policy) => alerter.unstarted(policy.alerts),
    // Input that never became an envelope has no subject: partition 0 records it, in call order
    // with what was injected before it.
    reject: router.reject,
    async recover(onProgress) {
      // Distributed mode resumes a partition's work when it takes the partition over.
      if (ownership !== undefined) return 0;
      const resumed = await recoverPartitions(ledger, partitions, delivery.dispatch, onProgress);
      counts.recovered += resumed;
      // Breaker, hold and dead-letter alerts a crash lost (alerts are at most once): sent now, once.
      await alerter.reconcile({
        // Every breaker the state holds, those past their cooldown too: the reconcile resolves them,
        // and reads back far enough to find their openings' alerts.
        open: stateHeld.openBreakers(),
        holds: heldIn(partitions, ownership),
        entries: (since) =>
          scanSince(
            ledger,
            partitions.map((p) => p.index),
            [ALERT_SENT, ENTRY.deadLetter],
            since,
          ),
      });
      return resumed;
    },
    held: () => heldIn(partitions, ownership),
    pilot,
    ...(node === undefined ? {} : { node }),
    onEvent: events.subscribe,
    raise(alarm) {
      const partition = ownership === undefined ? 0 : partitions.findIndex((p) => ownership.owns(p.index));
      if (partition >= 0) publish({ type: 'alarm', at: clock(), partition, ...alarm });
      else waiting.hold(alarm);
    },
    idle: life.idle,
    counts: () => structuredClone(counts),
    close,
    closed: life.closed,
    [Symbol.asyncDispose]: close,
  };
}

/** What waits for a pilot; a cluster node lists only what it owns now (one being given up is the next owner's). */
function heldIn(partitions: readonly Partition[], ownership: PartitionOwnership | undefined): HoldView[] {
  if (partitions.length === 1 && ownership === undefined) return partitions[0]!.holds.list();
  return partitions
    .filter((p) => ownership?.owns(p.index) ?? true)
    .flatMap((p) => p.holds.list())
    .sort((a, b) => a.heldAt - b.heldAt);
}

/** What the router of a cluster node is given: the mesh's cluster links, ids and the ledger's lookup. */
function routerCluster(
  cluster: MeshOptions['cluster'],
  factory: EnvelopeFactory,
  ledger: Pick<LedgerReader, 'firstOfEach'>,
): RouterCluster | undefined {
  if (cluster === undefined) return undefined;
  return {
    ...cluster,
    newId: () => factory.id(),
    lookup: (ids) => ledger.firstOfEach(ids),
  };
}

function meshNode(
  ownership: PartitionOwnership,
  name: string,
  pilot: PilotActions,
  inFlight: () => number,
): MeshNode {
  return { ...ownership, name, pilot, inFlight };
}

/**
 * Logs a failed task. Once the ledger has closed (fenced, failed) every task that needs it fails
 * the same way: that is logged once, not once per message.
 */
function taskFailureLog(log: Logger): (err: unknown) => void {
  let ledgerDown = false;
  return (err) => {
    const code = isMeshwardenError(err) ? err.code : undefined;
    if (code === 'MW_LEDGER_CLOSED' || code === 'MW_LEDGER_FENCED') {
      if (ledgerDown) return;
      ledgerDown = true;
      log.error({ err }, 'the ledger closed; work that needs it fails from now on');
      return;
    }
    log.error({ err }, 'runtime task failed');
  };
}
