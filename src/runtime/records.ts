import type { Envelope, GatedKind, JsonObject, JsonValue, MeshwardenError } from '../envelope/index.js';
import { parseSource } from '../envelope/index.js';
import type { EchoLink, Verdict } from '../gate/index.js';
import type { Durability, LedgerRecord } from '../ledger/index.js';
import type { StateDelta } from '../state/index.js';

/**
 * The runtime's ledger entry kinds. docs/ledger.md ("Entry kinds") documents each; recovery and
 * lineage read them back, so names and fields are a contract.
 */
export const ENTRY = {
  policyLoaded: 'policy.loaded',
  decision: 'decision',
  delivered: 'delivered',
  deliveryFailed: 'delivery.failed',
  deadLetter: 'dead-letter',
  effectExecuted: 'effect.executed',
  holdReleased: 'hold.released',
  pilotAction: 'pilot.action',
} as const;

/** `name@version` for agents, `ingress:<name>` for ingress sources, the raw source otherwise. */
export function actorOf(source: string): string {
  const ref = parseSource(source);
  if (ref === undefined) return source;
  return ref.version === undefined ? `ingress:${ref.name}` : `${ref.name}@${ref.version}`;
}

/** The policy put in force, and the ledger durability in force with it (fixed while the ledger is open). */
export function policyLoadedRecord(
  at: number,
  mesh: string,
  digest: string,
  file: string,
  durability: Durability,
  by?: string,
): LedgerRecord {
  return {
    kind: ENTRY.policyLoaded,
    at,
    ...(by === undefined ? {} : { agent: by }),
    data: by === undefined ? { digest, durability, file, mesh } : { by, digest, durability, file, mesh },
  };
}

export type DecisionData = {
  readonly gated: GatedKind;
  readonly verdict: Verdict;
  readonly envelope?: Envelope;
  /** Input that never became an envelope (truncated). */
  readonly raw?: string;
  /** Where the input came from, e.g. `msgs.jsonl:12:1`. */
  readonly location?: string;
  readonly link?: EchoLink;
  readonly deltas?: readonly StateDelta[];
  /** For an admitted message: the agents it is delivered to, fixed at admission (recovery reads them). */
  readonly consumers?: readonly string[];
  /** Who sent a root message by hand through the API (`pilot:<name>`). */
  readonly sentBy?: string;
};

export function decisionRecord(at: number, msgId: string, data: DecisionData): LedgerRecord {
  const e = data.envelope;
  return {
    kind: ENTRY.decision,
    at,
    msgId,
    ...(e?.causationid === undefined ? {} : { causationId: e.causationid }),
    ...(e === undefined
      ? {}
      : { correlationId: e.correlationid, subject: e.subject, agent: actorOf(e.source) }),
    // Absent members are left out by canonical JSON, so the record is not copied to drop them.
    data: data as unknown as JsonObject,
  };
}

export function deliveredRecord(at: number, msg: Envelope, consumer: string, attempt: number): LedgerRecord {
  return {
    kind: ENTRY.delivered,
    at,
    msgId: msg.id,
    subject: msg.subject,
    agent: consumer,
    data: { attempt },
  };
}

export function effectExecutedRecord(
  at: number,
  request: Envelope,
  attempt: number,
  result: JsonValue | undefined,
): LedgerRecord {
  return {
    kind: ENTRY.effectExecuted,
    at,
    msgId: request.id,
    subject: request.subject,
    agent: `effect:${request.type}`,
    data:
      result === undefined ? { attempt, effect: request.type } : { attempt, effect: request.type, result },
  };
}

export function failureRecord(
  kind: typeof ENTRY.deliveryFailed | typeof ENTRY.deadLetter,
  at: number,
  msg: Envelope,
  worker: string,
  attempt: number,
  error: MeshwardenError,
): LedgerRecord {
  return {
    kind,
    at,
    msgId: msg.id,
    subject: msg.subject,
    agent: worker,
    data: { attempt, error: { code: error.code, message: error.message } },
  };
}
