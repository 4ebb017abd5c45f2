import type { Contract, Issue } from '../contracts/index.js';
import { contractMessage, nextMajor, pointerOf } from '../contracts/index.js';
import { MAX_JSON_DEPTH, tooDeepAt } from '../envelope/index.js';
import type { LedgerReader } from '../ledger/index.js';
import { contractPlace, type HeldOne, type Policy, type PolicyIssue } from '../policy/index.js';
import { ENTRY } from './records.js';

/** One recorded payload a new contract rejects: its message id and Ajv's first issue. */
export type RejectedPayload = {
  readonly id: string;
  /** JSON pointer into the payload. */
  readonly pointer: string;
  /** JSON pointer into the schema, at the keyword that failed. */
  readonly schemaPointer: string;
  readonly message: string;
};

export type PayloadCheck = {
  /** Delivered payloads of this type read from the ledger. */
  readonly checked: number;
  /** How many of them the new contract rejects. */
  readonly rejected: number;
  /** The first few rejected, in ledger order. */
  readonly first: readonly RejectedPayload[];
};

export type PayloadCheckOptions = {
  /** How many rejected ids to keep per type (default 5). */
  readonly keep?: number;
  /** Called every `every` entries read (default 50,000), with the count so far: progress for long ledgers. */
  readonly progress?: (entries: number) => void;
  readonly every?: number;
};

/**
 * Validates the recorded, delivered payloads of the given types against their (new) contracts:
 * messages and effect requests the gate delivered, and held ones a pilot or a timeout released
 * with `deliver`; and lists the holds still open, of any type. Reads the ledger once, in (partition,
 * seq) order, through the reader port; memory stays bounded by the holds awaiting their release.
 */
export async function checkRecordedPayloads(
  reader: Pick<LedgerReader, 'scan'>,
  contracts: ReadonlyMap<string, Contract>,
  opts: PayloadCheckOptions = {},
): Promise<{
  readonly entries: number;
  /** Payloads delivered (or released with `deliver`) of every type, checked or not. */
  readonly delivered: number;
  readonly types: ReadonlyMap<string, PayloadCheck>;
  /** The holds never released (of every type), in the order they were opened: what still waits. */
  readonly open: readonly HeldOne[];
}> {
  const keep = opts.keep ?? 5;
  const every = opts.every ?? 50_000;
  const tallies = new Map<string, { checked: number; rejected: number; first: RejectedPayload[] }>();
  for (const type of contracts.keys()) tallies.set(type, { checked: 0, rejected: 0, first: [] });
  const held = new Map<string, { type: string; data: unknown }>();
  // Every hold not released yet, any type: a type the new policy drops must not have any.
  const open = new Map<string, HeldOne>();
  const check = (id: string, type: string, data: unknown) => {
    const tally = tallies.get(type)!;
    tally.checked++;
    const why = tooDeep(id, data) ?? firstIssue(id, contracts.get(type)!.validate(data)[0]);
    if (why === undefined) return;
    tally.rejected++;
    if (tally.first.length < keep) tally.first.push(why);
  };
  let entries = 0;
  let delivered = 0;
  // No `kinds` filter: with two kinds SQLite would sort every match before the first; this streams.
  for await (const entry of reader.scan()) {
    entries++;
    if (opts.progress !== undefined && entries % every === 0) opts.progress(entries);
    if (entry.kind === ENTRY.holdReleased) {
      if (open.delete(entry.msgId ?? '') && (entry.data as { outcome?: unknown }).outcome === 'deliver')
        delivered++;
      const hold = held.get(entry.msgId ?? '');
      if (hold === undefined) continue;
      held.delete(entry.msgId!);
      if ((entry.data as { outcome?: unknown }).outcome === 'deliver')
        check(entry.msgId!, hold.type, hold.data);
      continue;
    }
    if (entry.kind !== ENTRY.decision || entry.msgId === undefined) continue;
    const { envelope, verdict, gated } = entry.data as {
      envelope?: { type?: unknown; data?: unknown };
      verdict?: { decision?: unknown };
      gated?: unknown;
    };
    if (typeof envelope?.type !== 'string') continue;
    if (verdict?.decision === 'hold')
      open.set(entry.msgId, { type: envelope.type, kind: gated === 'effect' ? 'effect' : 'message' });
    if (verdict?.decision === 'deliver') delivered++;
    if (!tallies.has(envelope.type)) continue;
    if (verdict?.decision === 'deliver') check(entry.msgId, envelope.type, envelope.data);
    else if (verdict?.decision === 'hold')
      held.set(entry.msgId, { type: envelope.type, data: envelope.data });
  }
  return { entries, delivered, types: tallies, open: [...open.values()] };
}

/**
 * A payload nested deeper than a message's data may be (63 levels): the gate never delivers one, but
 * a ledger is input, and Ajv recurses as deep as the payload, so such a payload is rejected unread.
 */
function tooDeep(id: string, data: unknown): RejectedPayload | undefined {
  const max = MAX_JSON_DEPTH - 1;
  const pointer = tooDeepAt(data, max);
  if (pointer === undefined) return undefined;
  return { id, pointer, schemaPointer: '', message: `nests deeper than ${max} levels` };
}

function firstIssue(id: string, issue: Issue | undefined): RejectedPayload | undefined {
  if (issue === undefined) return undefined;
  return {
    id,
    pointer: pointerOf(issue.path),
    schemaPointer: issue.schemaPointer ?? '',
    message: issue.message,
  };
}

/**
 * One MW_CONTRACT_DATA_BREAKING issue per type whose new contract rejects recorded payloads: at the
 * line and column of the keyword that rejected the first of them, in the type's contract file.
 */
export async function payloadIssues(
  policy: Policy,
  types: ReadonlyMap<string, PayloadCheck>,
): Promise<PolicyIssue[]> {
  const issues: PolicyIssue[] = [];
  for (const [type, tally] of types) {
    const first = tally.first[0];
    if (first === undefined) continue;
    const place = await contractPlace(policy, type);
    const { line, col } = place.at(first.schemaPointer);
    const params = {
      type,
      count: tally.rejected,
      s: tally.rejected === 1 ? '' : 's',
      id: first.id,
      at: first.pointer === '' ? 'the payload' : first.pointer,
      reason: first.message,
      next: nextMajor(type),
    };
    issues.push({
      code: 'MW_CONTRACT_DATA_BREAKING',
      file: place.file,
      line,
      col,
      pointer: place.inFile ? first.schemaPointer : '',
      message: contractMessage('MW_CONTRACT_DATA_BREAKING', params),
    });
  }
  return issues;
}
