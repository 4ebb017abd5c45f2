import { type Envelope, errorText, type GatedKind, tooDeepAt } from '../envelope/index.js';
import {
  type Decision,
  decide,
  type GateInput,
  type RuntimeFacts,
  type Unreadable,
  type Verdict,
} from '../gate/index.js';
import type { LedgerEntry, LedgerReader, LedgerRecord, LedgerWriter } from '../ledger/index.js';
import type { StateStore } from '../state/index.js';
import type { ActivePolicy } from './active.js';
import { claimedCause, jsonText, rawFields } from './candidate-text.js';
import { decisionData, decisionEvent, type Extra, unreadable } from './decision-data.js';
import type { IngressMessage } from './define.js';
import type { Delivery, Outgoing } from './delivery.js';
import type { Clock, EnvelopeFactory } from './envelopes.js';
import { alertOf, countDecision, type MeshEvent, type RunCounts } from './events.js';
import type { HeldMessage } from './holds.js';
import { type DecisionHeader, decisionRecord, headerOf } from './records.js';
import type { rejection } from './rejected.js';
import type { WorkTracker } from './work.js';

/** Who sent a root message, as the door that took it knows them; recorded with its decision. */
export type Origin = { readonly sentBy?: string; readonly partner?: boolean };

/** A root message as a door hands it to an ingress. */
export type RootMessage = IngressMessage & {
  readonly id?: string;
  readonly target?: string;
  /** A pilot who sent it by hand (`pilot:<name>`), recorded with the decision. */
  readonly sentBy?: string;
  /** Sent by an outside caller (a `partner` token): the gate lets it reach only the exposed agent it addresses. */
  readonly partner?: boolean;
};

/**
 * The one admit path: the only place that runs the gate, applies its state deltas, builds decision
 * entries, appends them and settles them (write-ahead: deliver, execute or hold once durable). One
 * admission per partition, over that partition's state and chain; its partition's bus handler
 * (partition-handler.ts) is the only caller of `ingest` and `admitAll`.
 */
export type Admission = {
  /**
   * Gates a root message from an ingress and appends its decision at once; `taken` says whether the
   * ledger already holds a message with its id (read before, by the partition handler). Returns the
   * id it was recorded under, and its decision entry once durable.
   */
  ingest(ingress: string, message: RootMessage, taken: boolean): Admitted;
  /**
   * Admits what one handler emitted for this partition as one atomic ledger group: a crash keeps all
   * of it or none (the agent runner splits a handler's emissions by partition first).
   */
  admitAll(emitted: readonly Outgoing[]): Promise<unknown>;
  /**
   * Gates a released loop-guard or freeze hold again with those stops lifted and applies its
   * deltas; holds.ts records the release with the decision.
   */
  regate(hold: HeldMessage): Decision;
  /** Records input that never became an envelope (quarantined at the `ingress` stage), bounded by `rejection`. */
  reject(rejected: Rejection): Promise<LedgerEntry>;
  /** Whether the ledger already holds a message with this id (an id from outside can name one). */
  idTaken(id: string): Promise<boolean>;
  /** The agents an admitted message goes to: its target, or every consumer of its type. */
  consumersOf(envelope: Envelope): readonly string[];
};

export type AdmissionDeps = {
  readonly active: ActivePolicy;
  readonly state: StateStore;
  /** Appends decisions; reads only to tell whether an id from outside is taken. */
  readonly ledger: LedgerWriter & Pick<LedgerReader, 'byMessage'>;
  /** The partition this admission decides for: its state is `state`, its records go in its chain. */
  readonly partition: number;
  readonly clock: Clock;
  readonly factory: EnvelopeFactory;
  readonly counts: RunCounts;
  readonly work: WorkTracker;
  readonly publish: (event: MeshEvent) => void;
  /** Whether anyone listens: events are built only then, off the hot path otherwise. */
  readonly listening: () => boolean;
  /** Hands what was admitted to its consumers or executor, once its decision is durable. */
  readonly dispatch: Delivery['dispatch'];
  /** Arms a hold's timer once its decision is durable (its `hold-open` delta put it in state). */
  readonly armHold: (msgId: string) => void;
};

/** A root message's decision: the id it is recorded under, and its entry once durable. */
export type Admitted = { readonly msgId: string; readonly durable: Promise<LedgerEntry> };

/** Input refused before it became an envelope, bounded (rejected.ts): what a partition records. */
export type Rejection = ReturnType<typeof rejection>;

/** A decision made and recorded in memory, waiting for its ledger entry to be durable. */
type Judged = {
  readonly record: LedgerRecord;
  readonly msgId: string;
  readonly gated: GatedKind;
  readonly verdict: Verdict;
  readonly envelope: Envelope | undefined;
  /** Agents an admitted message goes to (recorded in its decision). */
  readonly consumers: readonly string[];
};

export function createAdmission(deps: AdmissionDeps): Admission {
  const { active, state, ledger, partition, clock, factory, counts, work, publish } = deps;

  const idTaken = (id: string): Promise<boolean> => ledger.byMessage(id).then((found) => found.length > 0);

  const consumersOf = (envelope: Envelope): readonly string[] =>
    envelope.target !== undefined ? [envelope.target] : (active.policy.consumers.get(envelope.type) ?? []);

  /** The gate, then its deltas applied to state: the only place either happens. */
  const decideAndApply = (input: GateInput): Decision => {
    const decision = decide(input, active.policy, state);
    state.apply(decision.deltas);
    return decision;
  };

  /** Gate → state → decision entry, for one candidate. */
  const judge = (
    candidate: Envelope,
    gated: GatedKind,
    external: boolean,
    origin?: Origin,
    facts?: RuntimeFacts,
  ): Judged => {
    const now = clock();
    const text = measure(candidate);
    if (typeof text !== 'string') {
      // The gate refuses it without walking it. Recorded like any refusal all the same: who sent it,
      // what it is about (so `why` and the subject and agent queries find it), and as evidence what
      // arrived, rendered here since it has no JSON text.
      const { verdict } = decideAndApply({
        candidate,
        size: 0,
        kind: gated,
        now,
        external,
        unreadable: text,
      });
      const extra = unreadable(candidate);
      if (origin?.partner === true) extra.partner = true;
      if (origin?.sentBy !== undefined) extra.sentBy = origin.sentBy;
      const header = headerOf(candidate);
      // An ingress message's causationid is an unchecked claim: not indexed (see gate/decide.ts).
      const cause = header.agent?.startsWith('ingress:') === true ? undefined : header.causationId;
      const { causationId: _, ...indexed } = header;
      const h = cause === undefined ? indexed : { ...indexed, causationId: cause };
      return record(now, factory.id(), gated, verdict, undefined, extra, cause ?? claimedCause(candidate), h);
    }
    const size = Buffer.byteLength(text);
    const partner = origin?.partner === true;
    const decision = decideAndApply(
      facts === undefined
        ? partner
          ? { candidate, size, kind: gated, now, external, partner: true }
          : { candidate, size, kind: gated, now, external }
        : { candidate, size, kind: gated, now, external, ...(partner ? { partner: true } : {}), ...facts },
    );
    const { envelope, verdict, link, unverifiedCausation } = decision;
    const consumers =
      verdict.decision === 'deliver' && envelope !== undefined && gated === 'message'
        ? consumersOf(envelope)
        : undefined;
    // An envelope over the size limit is recorded as evidence (prefix, size, SHA-256), not whole.
    const oversized = envelope !== undefined && size > active.policy.guards.envelope.maxBytes;
    const extra: Extra = envelope === undefined || oversized ? rawFields(text) : {};
    if (consumers !== undefined) extra.consumers = consumers;
    if (decision.deltas.length > 0) extra.deltas = decision.deltas;
    if (link !== undefined) extra.link = link;
    if (partner) extra.partner = true;
    if (origin?.sentBy !== undefined) extra.sentBy = origin.sentBy;
    if (unverifiedCausation !== undefined) extra.unverifiedCausation = unverifiedCausation;
    if (oversized) {
      const header = headerOf(envelope);
      return record(now, envelope.id, gated, verdict, undefined, extra, header.causationId, header);
    }
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
    header?: DecisionHeader,
  ): Judged => {
    const data = decisionData(gated, verdict, envelope, extra);
    countDecision(counts, gated, verdict);
    if (deps.listening()) {
      publish(decisionEvent(now, msgId, gated, verdict, envelope, extra, cause));
      const alert = alertOf(now, msgId, verdict);
      if (alert !== undefined) publish(alert);
    }
    const entry = decisionRecord(now, msgId, data, header);
    const consumers = extra.consumers ?? [];
    return { record: entry, msgId, gated, verdict, envelope, consumers };
  };

  /** Write-ahead: delivers or executes only once the decision entry is durable; arms hold timers then. */
  const settle = (j: Judged, durable: Promise<unknown>): void => {
    const { verdict, envelope } = j;
    if (verdict.decision === 'deliver' && envelope !== undefined) {
      work.track(durable.then(() => deps.dispatch(envelope, j.gated, j.consumers)));
      return;
    }
    work.track(durable);
    if (verdict.decision === 'hold' && envelope !== undefined) {
      durable.then(
        () => deps.armHold(j.msgId),
        () => {},
      );
    }
  };

  const append = (j: Judged): Promise<LedgerEntry> => {
    const durable = ledger.append(j.record, partition);
    settle(j, durable);
    return durable;
  };

  return {
    ingest(ingress, input, taken) {
      const { sentBy, partner, ...message } = input;
      const origin: Origin = {
        ...(sentBy === undefined ? {} : { sentBy }),
        ...(partner === true ? { partner } : {}),
      };
      // The gate remembers outside ids for its dedupe window only; an id the ledger holds names
      // another message for good. Gated under an id of the warden's own (the gate denies it as a
      // duplicate), so the other message's lineage stays its own.
      let judged: Judged;
      if (taken && message.id !== undefined) {
        const { id: takenId, ...rest } = message;
        judged = judge(factory.root(ingress, rest), 'message', false, origin, { takenId });
      } else {
        judged = judge(factory.root(ingress, message), 'message', message.id !== undefined, origin);
      }
      return { msgId: judged.msgId, durable: append(judged) };
    },
    admitAll(emitted) {
      const judged = emitted.map((out) =>
        judge(out.envelope, out.gated, out.external === true, undefined, out.facts),
      );
      const durable = ledger.appendAll(
        judged.map((j) => j.record),
        partition,
      );
      for (const j of judged) settle(j, durable);
      return durable;
    },
    regate(hold) {
      const text = measure(hold.envelope);
      // A held envelope was measured when it was held; were it unreadable now, the gate refuses it.
      return decideAndApply({
        candidate: hold.envelope,
        ...(typeof text === 'string' ? { size: Buffer.byteLength(text) } : { size: 0, unreadable: text }),
        kind: hold.gated,
        now: clock(),
        external: false,
        release: true,
        ...(hold.partner === true ? { partner: true } : {}),
      });
    },
    reject({ verdict, extra }) {
      return append(record(clock(), factory.id(), 'message', verdict, undefined, extra));
    },
    idTaken,
    consumersOf,
  };
}

/**
 * The JSON text the size guard measures (one measure for every candidate), or why there is none,
 * for the gate to refuse: input without a canonical JSON form (cycles, BigInt, lone surrogates) is
 * quarantined instead of failing in the ledger. Nesting is checked first, without recursion:
 * JSON.stringify itself overflows the stack on a few thousand levels.
 */
function measure(candidate: unknown): string | Unreadable {
  const deep = tooDeepAt(candidate);
  if (deep !== undefined) return { nestedAt: deep };
  const text = jsonText(candidate);
  return typeof text === 'string' ? text : { notJson: errorText(text.cause) };
}
