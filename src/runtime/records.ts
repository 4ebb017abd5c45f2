import type { Envelope, GatedKind, JsonObject, JsonValue, MeshwardenError } from '../envelope/index.js';
import { parseSource } from '../envelope/index.js';
import type { EchoLink, Verdict } from '../gate/index.js';
import type { Durability, LedgerRecord } from '../ledger/index.js';
import { isReplyToken, type StateDelta } from '../state/index.js';
import { boundText, describeValue, jsonText } from './candidate-text.js';
import { runtimeError } from './errors.js';
import type { DeliveryNote } from './forwarded.js';

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
  breakerOpened: 'breaker.opened',
  driftAlarm: 'drift.alarm',
  partitionOwned: 'partition.owned',
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
  partitions: number,
  by?: string,
): LedgerRecord {
  const data = { digest, durability, file, mesh, partitions };
  return {
    kind: ENTRY.policyLoaded,
    at,
    ...(by === undefined ? {} : { agent: by }),
    data: by === undefined ? data : { by, ...data },
  };
}

/**
 * A node took a partition over (distributed mode): its first write to the partition's chain, so the
 * chain names every owner in turn, with the lease epoch it holds (a later owner's is greater), and a
 * former owner's next append finds the head moved and is fenced. It also records the policy in force
 * there, as `policy.loaded` does in embedded mode.
 */
export function partitionOwnedRecord(
  at: number,
  owner: { readonly node: string; readonly epoch: number },
  policy: {
    readonly mesh: string;
    readonly digest: string;
    readonly file: string;
    readonly partitions: number;
  },
  durability: Durability,
): LedgerRecord {
  const { mesh, digest, file, partitions } = policy;
  return {
    kind: ENTRY.partitionOwned,
    at,
    agent: `node:${owner.node}`,
    data: { node: owner.node, epoch: owner.epoch, digest, durability, file, mesh, partitions },
  };
}

/** An envelope's type and hop, as a candidate recorded without its envelope gives them. */
export type ClaimedHead = { readonly hop: number; readonly type: string };

export type DecisionData = {
  readonly gated: GatedKind;
  readonly verdict: Verdict;
  readonly envelope?: Envelope;
  /**
   * What an envelope recorded without itself (nested too deep, too large) says it is, so `why`
   * names its type and hop rather than calling it unparsed input.
   */
  readonly claimed?: ClaimedHead;
  /**
   * Input that never became an envelope, or an envelope refused as too large: its first 4 KiB as
   * text (the whole of it when it is shorter), with its size and SHA-256 (see evidence.ts).
   */
  readonly raw?: string;
  /** The size in bytes of all the input `raw` begins. */
  readonly rawBytes?: number;
  /** `sha256:<hex>` of all the input `raw` begins, as it arrived. */
  readonly rawDigest?: string;
  /** Where the input came from, e.g. `msgs.jsonl:12:1`. */
  readonly location?: string;
  readonly link?: EchoLink;
  readonly deltas?: readonly StateDelta[];
  /** For an admitted message: the agents it is delivered to, fixed at admission (recovery reads them). */
  readonly consumers?: readonly string[];
  /** Sent by an outside caller (a `partner` token), so the gate held it to the exposed agent it addressed. */
  readonly partner?: true;
  /** Who sent a root message by hand through the API (`pilot:<name>`). */
  readonly sentBy?: string;
  /** A `causationid` the gate could not verify (`loop.unverified_causation`), kept out of the envelope. */
  readonly unverifiedCausation?: string;
};

/** The indexed fields of a decision recorded without its envelope (one refused as too large). */
export type DecisionHeader = {
  readonly causationId?: string;
  readonly correlationId?: string;
  readonly subject?: string;
  readonly agent?: string;
};

/** Identifiers longer than this are not indexed from an envelope the ledger does not keep. */
const HEADER_MAX = 1024;

/**
 * The indexed fields of an envelope recorded only as evidence, so lineage, impact and the subject
 * and agent queries still find its decision. Attributes too long to be identifiers are left out.
 */
export function headerOf(candidate: unknown): DecisionHeader {
  const h: { -readonly [K in keyof DecisionHeader]: DecisionHeader[K] } = {};
  if (candidate === null || typeof candidate !== 'object') return h;
  const e = candidate as Partial<Record<keyof Envelope, unknown>>;
  if (short(e.causationid)) h.causationId = e.causationid;
  if (short(e.correlationid)) h.correlationId = e.correlationid;
  if (short(e.subject)) h.subject = e.subject;
  if (short(e.source)) h.agent = actorOf(e.source);
  return h;
}

function short(value: unknown): value is string {
  // Well-formed too: the ledger refuses a column holding a lone surrogate, and the entry with it.
  return typeof value === 'string' && value.length <= HEADER_MAX && value.isWellFormed();
}

export function decisionRecord(
  at: number,
  msgId: string,
  data: DecisionData,
  header?: DecisionHeader,
): LedgerRecord {
  const e = data.envelope;
  if (e === undefined && header !== undefined) {
    return { kind: ENTRY.decision, at, msgId, ...header, data: data as unknown as JsonObject };
  }
  // Absent members are left out by canonical JSON, so the record is not copied to drop them. Set one
  // by one: a conditional spread allocates an object, on every hop.
  const record: { -readonly [K in keyof LedgerRecord]: LedgerRecord[K] } = {
    kind: ENTRY.decision,
    at,
    msgId,
    data: data as unknown as JsonObject,
  };
  if (e !== undefined) {
    if (e.causationid !== undefined) record.causationId = e.causationid;
    record.correlationId = e.correlationid;
    record.subject = e.subject;
    record.agent = actorOf(e.source);
  }
  return record;
}

export function deliveredRecord(
  at: number,
  msg: Envelope,
  consumer: string,
  attempt: number,
  note?: DeliveryNote,
): LedgerRecord {
  return {
    kind: ENTRY.delivered,
    at,
    msgId: msg.id,
    subject: msg.subject,
    agent: consumer,
    data: note === undefined ? { attempt } : { attempt, note },
  };
}

/** An executor's reply token as given, or MW_RUNTIME_REPLY_TOKEN (thrown: it fails the try, visibly). */
export function checkedReplyToken(effect: string, token: unknown): string {
  if (isReplyToken(token)) return token;
  const shown = JSON.stringify(typeof token === 'string' ? token.slice(0, 40) : token) ?? String(token);
  throw runtimeError('MW_RUNTIME_REPLY_TOKEN', { effect, token: shown });
}

/** The reply token's state delta, replayed by recovery like a decision's. */
function replyTokenDelta(request: Envelope, token: string): StateDelta {
  return { kind: 'reply-token', subject: request.subject, effectId: request.id, token };
}

/**
 * What an executor returned, as the ledger can hold it: a value without a canonical JSON form (a lone
 * surrogate, a cycle, a BigInt) would make the ledger refuse the whole `effect.executed` entry, and
 * the effect would run again after a restart. It is kept as a readable rendering instead.
 */
function recordable(result: JsonValue): JsonValue {
  return typeof jsonText(result) === 'string' ? result : { unrecordable: describeValue(result) };
}

export function effectExecutedRecord(
  at: number,
  request: Envelope,
  attempt: number,
  result: JsonValue | undefined,
  replyToken?: string,
): LedgerRecord {
  const data: Record<string, JsonValue> = { attempt };
  // Members in canonical order.
  if (replyToken !== undefined) data.deltas = [replyTokenDelta(request, replyToken) as unknown as JsonObject];
  data.effect = request.type;
  if (replyToken !== undefined) data.replyToken = replyToken;
  if (result !== undefined) data.result = recordable(result);
  return {
    kind: ENTRY.effectExecuted,
    at,
    msgId: request.id,
    subject: request.subject,
    agent: `effect:${request.type}`,
    data,
  };
}

export function failureRecord(
  kind: typeof ENTRY.deliveryFailed | typeof ENTRY.deadLetter,
  at: number,
  msg: Envelope,
  worker: string,
  attempt: number,
  error: MeshwardenError,
  deltas: readonly StateDelta[] = [],
): LedgerRecord {
  // An agent's error text is bounded and well-formed: any other would grow the ledger, or be refused
  // by it (a lone surrogate has no canonical form) and the failure lost with its breaker counts.
  const failed = { code: error.code, message: boundText(error.message, 1024) };
  return {
    kind,
    at,
    msgId: msg.id,
    subject: msg.subject,
    agent: worker,
    // The state changes of the failure breakers that counted it, replayed by recovery.
    data:
      deltas.length === 0
        ? { attempt, error: failed }
        : { attempt, deltas: deltas as unknown as JsonValue[], error: failed },
  };
}

/** Why a failure breaker opened: what it counted, how many, and the failures counted (oldest first). */
export type BreakerOpening = {
  readonly breaker: string;
  /** The breaker's scope key: a subject, an agent, an edge, or `*`. */
  readonly key: string;
  readonly scope: string;
  readonly action: 'freeze' | 'deny';
  /** `failures` (failed tries) or `deadLetters`. */
  readonly counted: string;
  /** The worker whose failures count: `effect:<name>` or an agent's name. */
  readonly of: string;
  readonly count: number;
  readonly over: number;
  readonly windowMs: number;
  /** Ids of the failed messages or requests counted, the one that opened it last. */
  readonly failures: readonly string[];
};

/**
 * A failure breaker opened: written in one transaction with the failure that opened it (whose
 * `deltas` hold the state change), named after that failed message, with the breaker as actor.
 */
export function breakerOpenedRecord(at: number, msg: Envelope, opening: BreakerOpening): LedgerRecord {
  return {
    kind: ENTRY.breakerOpened,
    at,
    msgId: msg.id,
    subject: msg.subject,
    agent: `breaker:${opening.breaker}`,
    data: { ...opening, failures: [...opening.failures] },
  };
}
