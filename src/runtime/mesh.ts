import type { Logger } from 'pino';
import { type MeshwardenError, parseSource } from '../envelope/index.js';
import { partnerReach } from '../gate/index.js';
import type { LedgerEntry, LedgerReader, LedgerWriter } from '../ledger/index.js';
import type { Policy } from '../policy/index.js';
import { createMemoryState, type StateDelta, type StateStore } from '../state/index.js';
import type { ActivePolicy } from './active.js';
import { createAdmission, type RootMessage } from './admission.js';
import { createDelivery, type RetryOptions } from './delivery.js';
import { type Clock, createEnvelopeFactory, type Random, systemClock, systemRandom } from './envelopes.js';
import { runtimeError } from './errors.js';
import { type MeshEvent, type RunCounts, zeroCounts } from './events.js';
import { createFailureBreakers } from './failures.js';
import { isFrozen } from './freezes.js';
import { createHolds, type HoldView } from './holds.js';
import type { LoadedModules } from './modules.js';
import { createPilotActions, type PilotActions } from './pilot.js';
import { policyLoadedRecord } from './records.js';
import { recoverFromLedger } from './recovery.js';
import type { RejectedInput } from './rejected.js';
import type { Transport } from './transports.js';
import { createWorkTracker } from './work.js';

export type MeshOptions = {
  readonly policy: Policy;
  /** The ledger's ports: the mesh appends through the writer and reads (recovery, duplicate ids) through the reader. */
  readonly ledger: LedgerWriter & LedgerReader;
  readonly modules: LoadedModules;
  /** How remote agents are reached; kept for reloads. */
  readonly transports?: readonly Transport[];
  readonly log: Logger;
  readonly state?: StateStore;
  readonly clock?: Clock;
  readonly random?: Random;
  readonly retry?: Partial<RetryOptions>;
  /** Handlers and executors running at once (default 256). */
  readonly concurrency?: number;
};

export type { RejectedInput } from './rejected.js';

export type Mesh = {
  readonly policy: Policy;
  readonly state: StateStore;
  /** The transports remote agents were connected with (a reload connects new ones the same way). */
  readonly transports: readonly Transport[];
  /** Gates a root message from an ingress; resolves with the decision entry once it is durable. */
  inject(ingress: string, input: RootMessage): Promise<LedgerEntry>;
  /** Records input that could not become an envelope (quarantined at the `ingress` stage). */
  reject(input: RejectedInput): Promise<LedgerEntry>;
  /** Redelivers what the ledger shows admitted but not yet delivered or executed; rebuilds state. */
  recover(): Promise<number>;
  /**
   * Puts a new policy (and its loaded modules) in force for everything decided from now on, after
   * recording it (`policy.loaded`). Refused for another mesh or more than one partition. State
   * carries over; approval timers restart under the new rules; agent code already loaded stays.
   */
  reload(policy: Policy, modules: LoadedModules, by?: string): Promise<LedgerEntry> | MeshwardenError;
  /** What waits for a pilot: approval holds, and messages held by the loop guard or a freeze. */
  held(): HoldView[];
  /** A pilot's approvals, rejections, freezes and resets, each recorded in the ledger. */
  readonly pilot: PilotActions;
  onEvent(listener: (event: MeshEvent) => void): () => void;
  /** Resolves when nothing is queued, awaiting durability or running. */
  idle(): Promise<void>;
  counts(): RunCounts;
  /** Stops intake, lets in-flight work finish, flushes the ledger. Idempotent. */
  close(): Promise<void>;
  readonly closed: Promise<void | Error>;
  [Symbol.asyncDispose](): Promise<void>;
};

export function createMesh(opts: MeshOptions): Mesh {
  const { ledger, log } = opts;
  const active: ActivePolicy = { policy: opts.policy, modules: opts.modules };
  const state =
    opts.state ??
    createMemoryState({
      echoWindowMs: opts.policy.guards.loop.echoWindowMs,
      dedupeWindowMs: opts.policy.guards.envelope.dedupeWindowMs,
    });
  const clock = opts.clock ?? systemClock;
  const factory = createEnvelopeFactory({
    mesh: opts.policy.mesh,
    maxHops: () => active.policy.guards.loop.maxHops,
    clock,
    random: opts.random ?? systemRandom,
  });
  const counts = zeroCounts();
  const listeners = new Set<(event: MeshEvent) => void>();
  const work = createWorkTracker(opts.concurrency ?? 256, (err) => log.error({ err }, 'runtime task failed'));
  let closing: Promise<void> | undefined;
  let resolveClosed: (value: void | Error) => void = () => {};
  const closed = new Promise<void | Error>((resolve) => {
    resolveClosed = resolve;
  });

  const publish = (event: MeshEvent) => {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (err) {
        log.warn({ err }, 'mesh event listener threw');
      }
    }
  };

  const admission = createAdmission({
    active,
    state,
    ledger,
    clock,
    factory,
    counts,
    work,
    publish,
    listening: () => listeners.size > 0,
    dispatch: (envelope, gated, consumers) => delivery.dispatch(envelope, gated, consumers),
    armHold: (msgId) => holds.arm(msgId),
  });

  const inject: Mesh['inject'] = (ingress, input) =>
    closing !== undefined
      ? Promise.reject(runtimeError('MW_RUNTIME_CLOSED'))
      : admission.ingest(ingress, input);

  const failures = createFailureBreakers({ active, state, ledger, clock, log });
  const delivery = createDelivery({
    active,
    ledger,
    failed: failures.record,
    log,
    clock,
    factory,
    work,
    counts,
    publish,
    listening: () => listeners.size > 0,
    admitAll: admission.admitAll,
    idTaken: admission.idTaken,
    remember: (record) => state.apply((record.data as { deltas?: StateDelta[] }).deltas ?? []),
    ingest: (ingress, message) => {
      inject(ingress, message).catch((err: unknown) =>
        log.warn({ err, ingress }, 'ingest after close dropped'),
      );
    },
    ...(opts.retry === undefined ? {} : { retry: opts.retry }),
  });

  const holds = createHolds({
    active,
    ledger,
    state,
    clock,
    work,
    log,
    isFrozen: (subject, now) => isFrozen(active.policy, state, subject, now),
    consumersOf: admission.consumersOf,
    dispatch: delivery.dispatch,
    publish,
    regate: admission.regate,
    reach: (hold) =>
      partnerReach(active.policy, hold.envelope, parseSource(hold.envelope.source)?.name ?? ''),
  });

  const pilot = createPilotActions({ active, ledger, state, holds, clock, work });

  const evictTimer = setInterval(() => {
    const now = clock();
    state.evict(now);
    failures.evict(now);
  }, 5_000);
  evictTimer.unref();

  const close = (): Promise<void> => {
    closing ??= (async () => {
      try {
        await work.idle();
        await ledger.flush();
        resolveClosed();
      } catch (err) {
        resolveClosed(err as Error);
      } finally {
        clearInterval(evictTimer);
        holds.close();
      }
    })();
    return closing;
  };

  return {
    get policy() {
      return active.policy;
    },
    state,
    transports: opts.transports ?? [],
    inject,
    reload(policy, modules, by) {
      if (policy.mesh !== active.policy.mesh) {
        return runtimeError('MW_RUNTIME_RELOAD', {
          detail: `the new policy is for mesh ${policy.mesh}, this one runs ${active.policy.mesh}`,
        });
      }
      if (policy.partitions !== 1) {
        return runtimeError('MW_RUNTIME_PARTITIONS', { partitions: policy.partitions });
      }
      const durable = ledger.append(
        policyLoadedRecord(clock(), policy.mesh, policy.digest, policy.file, ledger.durability, by),
      );
      work.track(durable);
      // Messages already admitted keep the consumers recorded with them; what comes next is gated,
      // routed and delivered under the new policy.
      // The ledger was opened with its durability; a new one in the file waits for the next start.
      if (policy.ledger.durability !== active.policy.ledger.durability)
        log.warn(
          { durability: policy.ledger.durability, inForce: ledger.durability },
          'ledger durability changes at the next start, not on reload',
        );
      active.policy = policy;
      active.modules = modules;
      holds.retime();
      log.info({ digest: policy.digest }, 'policy reloaded');
      return durable;
    },
    reject: admission.reject,
    async recover() {
      const resumed = await recoverFromLedger(
        ledger,
        state,
        delivery.dispatch,
        holds.retime,
        failures.remember,
      );
      counts.recovered += resumed;
      return resumed;
    },
    held: () => holds.list(),
    pilot,
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    idle: () => work.idle(),
    counts: () => structuredClone(counts),
    close,
    closed,
    [Symbol.asyncDispose]: close,
  };
}
