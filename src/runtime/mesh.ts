import type { Logger } from 'pino';
import type { Envelope, GatedKind } from '../envelope/index.js';
import { decide, type Verdict, type VerdictIssue } from '../gate/index.js';
import type { Ledger, LedgerEntry } from '../ledger/index.js';
import type { Policy } from '../policy/index.js';
import { createMemoryState, type StateStore } from '../state/index.js';
import type { IngressMessage } from './define.js';
import { createDelivery, type RetryOptions } from './delivery.js';
import { type Clock, createEnvelopeFactory, type Random, systemClock, systemRandom } from './envelopes.js';
import { runtimeError } from './errors.js';
import { countDecision, type MeshEvent, type RunCounts, zeroCounts } from './events.js';
import { createHoldTimers } from './holds.js';
import type { LoadedModules } from './modules.js';
import { decisionRecord } from './records.js';
import { recoverFromLedger } from './recovery.js';
import { createWorkTracker } from './work.js';

export type MeshOptions = {
  readonly policy: Policy;
  readonly ledger: Ledger;
  readonly modules: LoadedModules;
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
  /** Gates a root message from an ingress; resolves with the decision entry once it is durable. */
  inject(ingress: string, input: IngressMessage & { readonly id?: string }): Promise<LedgerEntry>;
  /** Records input that could not become an envelope (quarantined at the `ingress` stage). */
  reject(input: RejectedInput): Promise<LedgerEntry>;
  /** Redelivers what the ledger shows admitted but not yet delivered or executed; rebuilds state. */
  recover(): Promise<number>;
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
  const { policy, ledger, log } = opts;
  const state =
    opts.state ??
    createMemoryState({
      echoWindowMs: policy.guards.loop.echoWindowMs,
      dedupeWindowMs: policy.guards.envelope.dedupeWindowMs,
    });
  const clock = opts.clock ?? systemClock;
  const factory = createEnvelopeFactory({
    mesh: policy.mesh,
    maxHops: policy.guards.loop.maxHops,
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

  /** Gate → state → ledger; deliver or execute only once the decision entry is durable (write-ahead). */
  const admit = (candidate: Envelope, gated: GatedKind, external: boolean): Promise<LedgerEntry> => {
    const now = clock();
    const text = safeStringify(candidate);
    const decision = decide(
      {
        candidate,
        size: text === undefined ? Number.POSITIVE_INFINITY : Buffer.byteLength(text),
        kind: gated,
        now,
        external,
      },
      policy,
      state,
    );
    state.apply(decision.deltas);
    const envelope = decision.envelope;
    // Input that failed the shape check may carry no usable id; it still gets one so `why` finds it.
    const msgId = envelope?.id ?? factory.id();
    const durable = ledger.append(
      decisionRecord(now, msgId, {
        gated,
        verdict: decision.verdict,
        ...(envelope === undefined ? { raw: truncate(text ?? String(candidate)) } : { envelope }),
        ...(decision.link === undefined ? {} : { link: decision.link }),
        ...(decision.deltas.length === 0 ? {} : { deltas: decision.deltas }),
      }),
    );
    countDecision(counts, gated, decision.verdict);
    publish({
      type: 'decision',
      at: now,
      msgId,
      gated,
      verdict: decision.verdict,
      ...(envelope === undefined ? {} : { envelope }),
      ...(decision.link === undefined ? {} : { link: decision.link }),
    });
    const verdict = decision.verdict;
    if (verdict.decision === 'deliver' && envelope !== undefined) {
      work.track(durable.then(() => delivery.dispatch(envelope, gated)));
    } else {
      work.track(durable);
      if (
        verdict.decision === 'hold' &&
        verdict.stage === 'approval' &&
        verdict.rule !== undefined &&
        envelope
      ) {
        holds.track({ msgId, envelope, gated, rule: verdict.rule, heldAt: now });
      }
    }
    return durable;
  };

  const ingest = (
    ingress: string,
    input: IngressMessage & { readonly id?: string },
  ): Promise<LedgerEntry> => {
    if (closing !== undefined) return Promise.reject(runtimeError('MW_RUNTIME_CLOSED'));
    return admit(factory.root(ingress, input), 'message', input.id !== undefined);
  };

  const delivery = createDelivery({
    policy,
    ledger,
    modules: opts.modules,
    log,
    clock,
    factory,
    work,
    counts,
    publish,
    admit: (envelope, gated) => {
      admit(envelope, gated, false);
    },
    ingest: (ingress, message) => {
      ingest(ingress, message).catch((err: unknown) =>
        log.warn({ err, ingress }, 'ingest after close dropped'),
      );
    },
    ...(opts.retry === undefined ? {} : { retry: opts.retry }),
  });

  const holds = createHoldTimers({
    policy,
    ledger,
    clock,
    work,
    log,
    dispatch: (e, gated) => delivery.dispatch(e, gated),
  });

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
    policy,
    state,
    inject: ingest,
    reject(input) {
      const now = clock();
      const msgId = factory.id();
      const verdict: Verdict = {
        decision: 'quarantine',
        stage: 'ingress',
        reason: input.reason,
        detail: input.detail,
        ...(input.issues === undefined ? {} : { issues: input.issues }),
      };
      const durable = ledger.append(
        decisionRecord(now, msgId, {
          gated: 'message',
          verdict,
          raw: truncate(input.raw),
          location: input.location,
        }),
      );
      countDecision(counts, 'message', verdict);
      publish({ type: 'decision', at: now, msgId, gated: 'message', verdict, location: input.location });
      work.track(durable);
      return durable;
    },
    async recover() {
      const resumed = recoverFromLedger(
        ledger,
        state,
        policy,
        (envelope, gated, consumers) => delivery.dispatch(envelope, gated, consumers),
        holds.track,
      );
      counts.recovered += resumed;
      return resumed;
    },
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

function safeStringify(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}

function truncate(text: string): string {
  return text.length > 4096 ? `${text.slice(0, 4096)}…` : text;
}
