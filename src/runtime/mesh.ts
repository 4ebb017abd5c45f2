import type { Logger } from 'pino';
import { type Envelope, type GatedKind, type MeshwardenError, parseSource } from '../envelope/index.js';
import { decide, partnerReach, type Verdict } from '../gate/index.js';
import type { LedgerEntry, LedgerReader, LedgerWriter } from '../ledger/index.js';
import type { Policy } from '../policy/index.js';
import { createMemoryState, type StateDelta, type StateStore } from '../state/index.js';
import type { ActivePolicy } from './active.js';
import type { IngressMessage } from './define.js';
import { createDelivery, type Outgoing, type RetryOptions } from './delivery.js';
import { type Clock, createEnvelopeFactory, type Random, systemClock, systemRandom } from './envelopes.js';
import { runtimeError } from './errors.js';
import { type MeshEvent, type RunCounts, zeroCounts } from './events.js';
import { createFailureBreakers } from './failures.js';
import { isFrozen } from './freezes.js';
import { createHolds, type HoldView } from './holds.js';
import { createJudge, type Extra, type Judged, type Origin } from './judge.js';
import type { LoadedModules } from './modules.js';
import { createPilotActions, type PilotActions } from './pilot.js';
import { policyLoadedRecord } from './records.js';
import { recoverFromLedger } from './recovery.js';
import { type RejectedInput, refusedEnvelope, rejection } from './rejected.js';
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
  inject(
    ingress: string,
    input: IngressMessage & {
      readonly id?: string;
      readonly target?: string;
      /** A pilot who sent it by hand (`pilot:<name>`), recorded with the decision. */
      readonly sentBy?: string;
      /** Sent by an outside caller (a `partner` token): the gate lets it reach only the exposed agent it addresses. */
      readonly partner?: boolean;
    },
  ): Promise<LedgerEntry>;
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
  /** Set while an ingest waits on its duplicate-id read: resolves once the last queued one is appended. */
  let queued: Promise<void> | undefined;
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

  const { judge, record, consumersOf } = createJudge({
    active,
    state,
    clock,
    factory,
    counts,
    publish,
    listening: () => listeners.size > 0,
  });

  /** Write-ahead: delivers or executes only once the decision entry is durable; starts hold timers. */
  const settle = (j: Judged, durable: Promise<unknown>): void => {
    const { verdict, envelope } = j;
    if (verdict.decision === 'deliver' && envelope !== undefined) {
      work.track(durable.then(() => delivery.dispatch(envelope, j.gated, j.consumers)));
      return;
    }
    work.track(durable);
    // Tracked once durable: a pilot can only release what the ledger shows held.
    if (verdict.decision === 'hold' && envelope !== undefined) {
      durable.then(
        () => {
          const hold = { msgId: j.msgId, envelope, gated: j.gated, verdict, heldAt: j.now };
          holds.track(j.partner ? { ...hold, partner: true } : hold);
        },
        () => {},
      );
    }
  };

  const admit = (
    candidate: Envelope,
    gated: GatedKind,
    external: boolean,
    origin?: Origin,
  ): Promise<LedgerEntry> => {
    const judged = judge(candidate, gated, external, origin);
    const durable = ledger.append(judged.record);
    settle(judged, durable);
    return durable;
  };

  /** Admits what one handler emitted as one atomic ledger group: a crash keeps all of it or none. */
  const admitAll = (
    emitted: readonly { envelope: Envelope; gated: GatedKind; external?: boolean }[],
  ): Promise<unknown> => {
    const judged = emitted.map((out) => judge(out.envelope, out.gated, out.external === true));
    const durable = ledger.appendAll(judged.map((j) => j.record));
    for (const j of judged) settle(j, durable);
    return durable;
  };

  /** Records what was refused before the gate (at the envelope stage), so nothing vanishes. */
  const refuse = (out: Outgoing, verdict: Verdict, origin?: Origin): Promise<LedgerEntry> => {
    // Kept whole only when small: an agent's (or a remote's) oversized answer is kept as evidence.
    const { kept, extra, header } = refusedEnvelope(out.envelope, active.policy.guards.envelope.maxBytes);
    const fields: Extra = { ...extra };
    if (origin?.partner === true) fields.partner = true;
    if (origin?.sentBy !== undefined) fields.sentBy = origin.sentBy;
    const j = record(clock(), out.envelope.id, out.gated, verdict, kept, fields, header?.causationId, header);
    return ledger.append(j.record);
  };

  const ingest = (
    ingress: string,
    input: IngressMessage & {
      readonly id?: string;
      readonly target?: string;
      readonly sentBy?: string;
      readonly partner?: boolean;
    },
  ): Promise<LedgerEntry> => {
    const { sentBy, partner, ...message } = input;
    const origin: Origin = {
      ...(sentBy === undefined ? {} : { sentBy }),
      ...(partner === true ? { partner } : {}),
    };
    if (closing !== undefined) return Promise.reject(runtimeError('MW_RUNTIME_CLOSED'));
    if (input.id === undefined && queued === undefined)
      return admit(factory.root(ingress, message), 'message', false, origin);
    // The gate remembers outside ids for its dedupe window only; an id the ledger holds names another
    // message for good. Denied as the gate denies a duplicate (whichever catches it, the same verdict),
    // under an id of the warden's own, so the other message's lineage stays its own.
    return inOrder(async () => {
      if (input.id !== undefined && (await ledger.byMessage(input.id)).length > 0) {
        const { id: taken, ...rest } = message;
        const out: Outgoing = { envelope: factory.root(ingress, rest), gated: 'message' };
        const verdict: Verdict = {
          decision: 'deny',
          stage: 'envelope',
          reason: 'envelope.duplicate_id',
          detail: `Message id ${taken} already names a message in the ledger; each message needs an id of its own.`,
        };
        return { durable: refuse(out, verdict, origin) };
      }
      return { durable: admit(factory.root(ingress, message), 'message', input.id !== undefined, origin) };
    });
  };

  /**
   * Keeps what comes in from outside (ingests, rejections) in call order across an awaited ledger
   * read: while one ingest waits on its duplicate-id read, later ones queue behind it, so a later
   * duplicate is read only once the earlier message is appended. `step` appends when it runs and
   * hands the durable promise back boxed, so the queue moves on as soon as it is appended.
   */
  const inOrder = (step: () => Promise<{ durable: Promise<LedgerEntry> }>): Promise<LedgerEntry> => {
    const { promise: appended, resolve } = Promise.withResolvers<void>();
    const before = queued ?? Promise.resolve();
    queued = appended;
    work.track(appended);
    const next = () => {
      if (queued === appended) queued = undefined;
      resolve();
    };
    return before.then(step).then(
      ({ durable }) => {
        next();
        return durable;
      },
      (err: unknown) => {
        next();
        throw err;
      },
    );
  };

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
    admitAll,
    refuse: (out, reason, detail) => {
      work.track(refuse(out, { decision: 'quarantine', stage: 'envelope', reason, detail }));
    },
    remember: (record) => state.apply((record.data as { deltas?: StateDelta[] }).deltas ?? []),
    ingest: (ingress, message) => {
      ingest(ingress, message).catch((err: unknown) =>
        log.warn({ err, ingress }, 'ingest after close dropped'),
      );
    },
    ...(opts.retry === undefined ? {} : { retry: opts.retry }),
  });

  const holds = createHolds({
    active,
    ledger,
    clock,
    work,
    log,
    isFrozen: (subject, now) => isFrozen(active.policy, state, subject, now),
    consumersOf,
    dispatch: delivery.dispatch,
    publish,
    regate(hold) {
      const decision = decide(
        {
          candidate: hold.envelope,
          size: Buffer.byteLength(JSON.stringify(hold.envelope)),
          kind: hold.gated,
          now: clock(),
          external: false,
          release: true,
          ...(hold.partner === true ? { partner: true } : {}),
        },
        active.policy,
        state,
      );
      state.apply(decision.deltas);
      return decision;
    },
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
    inject: ingest,
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
    reject(input) {
      const recordRejected = () => {
        // Bounded whatever the caller passes: a hostile body must not grow the append-only ledger.
        const { verdict, extra } = rejection(input);
        const judged = record(clock(), factory.id(), 'message', verdict, undefined, extra);
        const durable = ledger.append(judged.record);
        work.track(durable);
        return durable;
      };
      return queued === undefined ? recordRejected() : inOrder(async () => ({ durable: recordRejected() }));
    },
    async recover() {
      const resumed = await recoverFromLedger(
        ledger,
        state,
        delivery.dispatch,
        holds.track,
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
