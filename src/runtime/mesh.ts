import type { Logger } from 'pino';
import { type Envelope, type GatedKind, type MeshwardenError, tooDeepAt } from '../envelope/index.js';
import { decide, type Verdict, type VerdictIssue } from '../gate/index.js';
import type { Ledger, LedgerEntry, LedgerRecord } from '../ledger/index.js';
import type { Policy } from '../policy/index.js';
import { createMemoryState, type StateStore } from '../state/index.js';
import type { ActivePolicy } from './active.js';
import { describeValue, jsonText, notJson, tooDeep, truncate } from './candidate-text.js';
import type { IngressMessage } from './define.js';
import { createDelivery, type Outgoing, type RetryOptions } from './delivery.js';
import { type Clock, createEnvelopeFactory, type Random, systemClock, systemRandom } from './envelopes.js';
import { runtimeError } from './errors.js';
import { countDecision, type MeshEvent, type RunCounts, zeroCounts } from './events.js';
import { isFrozen } from './freezes.js';
import { createHolds, type HoldView } from './holds.js';
import type { LoadedModules } from './modules.js';
import { createPilotActions, type PilotActions } from './pilot.js';
import { type DecisionData, decisionRecord, policyLoadedRecord } from './records.js';
import { recoverFromLedger } from './recovery.js';
import type { Transport } from './transports.js';
import { createWorkTracker } from './work.js';

/** What a decision record holds besides its verdict and envelope. */
type Extra = Mutable<Omit<DecisionData, 'gated' | 'verdict' | 'envelope'>>;
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** A decision made and recorded in memory, waiting for its ledger entry to be durable. */
type Judged = {
  readonly record: LedgerRecord;
  readonly msgId: string;
  readonly gated: GatedKind;
  readonly verdict: Verdict;
  readonly envelope: Envelope | undefined;
  readonly now: number;
  /** Agents an admitted message goes to (recorded in its decision). */
  readonly consumers: readonly string[];
};

export type MeshOptions = {
  readonly policy: Policy;
  readonly ledger: Ledger;
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

/** Input that never became an envelope: where it was and what is wrong with it. */
export type RejectedInput = {
  readonly raw: string;
  readonly location: string;
  readonly reason: string;
  readonly detail: string;
  readonly issues?: readonly VerdictIssue[];
};

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

  const consumersOf = (envelope: Envelope): readonly string[] =>
    envelope.target !== undefined ? [envelope.target] : (active.policy.consumers.get(envelope.type) ?? []);

  /** Gate → state: decides one envelope, applies its deltas, and builds its decision entry. */
  const judge = (candidate: Envelope, gated: GatedKind, external: boolean, sentBy?: string): Judged => {
    const now = clock();
    // The size guard measures the JSON text, and input without a canonical JSON form (cycles,
    // BigInt, lone surrogates) is quarantined here instead of failing in the ledger.
    // Nesting is checked first, without recursion: JSON.stringify itself overflows the stack on a
    // few thousand levels.
    const deep = tooDeepAt(candidate);
    const text = deep === undefined ? jsonText(candidate) : undefined;
    if (typeof text !== 'string') {
      return record(
        now,
        factory.id(),
        gated,
        text === undefined ? tooDeep(deep!) : notJson(text.cause),
        undefined,
        { raw: describeValue(candidate) },
        claimedCause(candidate),
      );
    }
    const decision = decide(
      { candidate, size: Buffer.byteLength(text), kind: gated, now, external },
      active.policy,
      state,
    );
    state.apply(decision.deltas);
    const { envelope, verdict, link } = decision;
    const consumers =
      verdict.decision === 'deliver' && envelope !== undefined && gated === 'message'
        ? consumersOf(envelope)
        : undefined;
    const extra: Extra = {};
    if (consumers !== undefined) extra.consumers = consumers;
    if (decision.deltas.length > 0) extra.deltas = decision.deltas;
    if (link !== undefined) extra.link = link;
    if (envelope === undefined) extra.raw = truncate(text);
    if (sentBy !== undefined) extra.sentBy = sentBy;
    // Input that failed the shape check may carry no usable id; it still gets one so `why` finds it.
    const cause = envelope === undefined ? claimedCause(candidate) : undefined;
    return record(now, envelope?.id ?? factory.id(), gated, verdict, envelope, extra, cause);
  };

  /** Builds the decision entry, counts it and tells listeners. */
  const record = (
    now: number,
    msgId: string,
    gated: GatedKind,
    verdict: Verdict,
    envelope: Envelope | undefined,
    extra: Extra,
    cause?: string,
  ): Judged => {
    // Members set one by one in canonical (RFC 8785) order, so the ledger serializes the record
    // with native JSON.stringify (and no conditional spreads: each allocates, on every hop).
    const data: Mutable<DecisionData> = {} as Mutable<DecisionData>;
    if (extra.consumers !== undefined) data.consumers = extra.consumers;
    if (extra.deltas !== undefined) data.deltas = extra.deltas;
    if (envelope !== undefined) data.envelope = envelope;
    data.gated = gated;
    if (extra.link !== undefined) data.link = extra.link;
    if (extra.location !== undefined) data.location = extra.location;
    if (extra.raw !== undefined) data.raw = extra.raw;
    if (extra.sentBy !== undefined) data.sentBy = extra.sentBy;
    data.verdict = verdict;
    countDecision(counts, gated, verdict);
    if (listeners.size > 0) {
      const event: Mutable<Extract<MeshEvent, { type: 'decision' }>> = {
        type: 'decision',
        at: now,
        msgId,
        gated,
        verdict,
      };
      if (envelope !== undefined) event.envelope = envelope;
      const causationid = envelope?.causationid ?? cause;
      if (causationid !== undefined) event.causationid = causationid;
      if (extra.link !== undefined) event.link = extra.link;
      if (extra.location !== undefined) event.location = extra.location;
      publish(event);
    }
    const consumers = extra.consumers ?? [];
    return { record: decisionRecord(now, msgId, data), msgId, gated, verdict, envelope, now, consumers };
  };

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
        () => holds.track({ msgId: j.msgId, envelope, gated: j.gated, verdict, heldAt: j.now }),
        () => {},
      );
    }
  };

  const admit = (
    candidate: Envelope,
    gated: GatedKind,
    external: boolean,
    sentBy?: string,
  ): Promise<LedgerEntry> => {
    const judged = judge(candidate, gated, external, sentBy);
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
  const refuse = (out: Outgoing, verdict: Verdict, sentBy?: string): Promise<LedgerEntry> => {
    const extra: Extra = sentBy === undefined ? {} : { sentBy };
    return ledger.append(record(clock(), out.envelope.id, out.gated, verdict, out.envelope, extra).record);
  };

  const ingest = (
    ingress: string,
    input: IngressMessage & { readonly id?: string; readonly target?: string; readonly sentBy?: string },
  ): Promise<LedgerEntry> => {
    if (closing !== undefined) return Promise.reject(runtimeError('MW_RUNTIME_CLOSED'));
    // The gate remembers outside ids for its dedupe window only; an id the ledger holds names another
    // message for good. Denied as the gate denies a duplicate (whichever catches it, the same verdict),
    // under an id of the warden's own, so the other message's lineage stays its own.
    if (input.id !== undefined && ledger.byMessage(input.id).length > 0) {
      const { id: taken, ...rest } = input;
      const out: Outgoing = { envelope: factory.root(ingress, rest), gated: 'message' };
      const verdict: Verdict = {
        decision: 'deny',
        stage: 'envelope',
        reason: 'envelope.duplicate_id',
        detail: `Message id ${taken} already names a message in the ledger; each message needs an id of its own.`,
      };
      return refuse(out, verdict, input.sentBy);
    }
    return admit(factory.root(ingress, input), 'message', input.id !== undefined, input.sentBy);
  };

  const delivery = createDelivery({
    active,
    ledger,
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
        },
        active.policy,
        state,
      );
      state.apply(decision.deltas);
      return decision;
    },
  });

  const pilot = createPilotActions({ active, ledger, state, holds, clock, work });

  const evictTimer = setInterval(() => state.evict(clock()), 5_000);
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
      const durable = ledger.append(policyLoadedRecord(clock(), policy.mesh, policy.digest, policy.file, by));
      work.track(durable);
      // Messages already admitted keep the consumers recorded with them; what comes next is gated,
      // routed and delivered under the new policy.
      active.policy = policy;
      active.modules = modules;
      holds.retime();
      log.info({ digest: policy.digest }, 'policy reloaded');
      return durable;
    },
    reject(input) {
      const verdict: Verdict = {
        decision: 'quarantine',
        stage: 'ingress',
        reason: input.reason,
        detail: input.detail,
        ...(input.issues === undefined ? {} : { issues: input.issues }),
      };
      const judged = record(clock(), factory.id(), 'message', verdict, undefined, {
        raw: truncate(input.raw),
        location: input.location,
      });
      const durable = ledger.append(judged.record);
      work.track(durable);
      return durable;
    },
    async recover() {
      const resumed = recoverFromLedger(ledger, state, delivery.dispatch, holds.track);
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

/** What a candidate too malformed for an envelope says it answers, for listeners following that message. */
function claimedCause(candidate: unknown): string | undefined {
  const cause = (candidate as { causationid?: unknown } | null | undefined)?.causationid;
  return typeof cause === 'string' ? cause : undefined;
}
