import type { MeshwardenError } from '../envelope/index.js';
import { ledgerError } from './errors.js';
import { chainHash, GENESIS, leafHash } from './hash.js';
import type { PostgresLocation } from './postgres-location.js';
import type { Tables } from './postgres-schema.js';
import type { LedgerEntry } from './types.js';

// What a PostgreSQL group commit sends (postgres-commit.ts): a COPY of its rows, and the checks.

/**
 * A sealed batch: its rows in COPY's text format as UTF-8 (`ends[i]` is where row i ends), each
 * partition's first row, and each entry's links.
 */
export type Prepared = {
  readonly data: Buffer;
  readonly ends: readonly number[];
  readonly guards: Map<number, readonly [seq: number, prev: string]>;
  readonly linked: [entry: LedgerEntry, prev: string, hash: string][];
};

/**
 * A text as a field of COPY's text format: a backslash, line feed, carriage return and tab are
 * written as escapes (a NUL never reaches here: text columns refuse it at append). Canonical JSON
 * has none of the last three raw, so a body needs only its backslashes doubled.
 */
function field(value: string | undefined): string {
  if (value === undefined) return '\\N';
  return /[\\\n\r\t]/.test(value) ? value.replace(/[\\\n\r\t]/g, (c) => ESCAPES[c]!) : value;
}
const ESCAPES: Readonly<Record<string, string>> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

// One COPY per commit, atomic on its own (autocommit): every row or none. The primary key
// (partition, seq) refuses a seq that another writer took (its uncommitted insert makes this one
// wait, then fail). Before it, each partition's first row is checked to continue the chain as
// stored (`brokenLinkSql`): a stored row is never changed, so a link that holds then still holds
// when the COPY commits, and a writer whose head is ahead of the store (a tail removed behind it)
// inserts nothing, where the seq alone would leave a gap. The rows after it chain onto it.
export const copySql = (t: Tables) =>
  `COPY ${t.entries} (partition, seq, kind, at, msg_id, causation_id, correlation_id, subject, agent, body, prev, hash) FROM STDIN`;

/** Each partition's first row (arrays `$1` to `$3`) whose prev is not the stored hash before it. */
export const brokenLinkSql = (t: Tables) => `
SELECT f.partition, f.seq FROM unnest($1::int[], $2::bigint[], $3::text[]) AS f (partition, seq, prev)
WHERE ${unlinked(t)}`;

/** `brokenLinkSql`, or the seq is taken already (committed): what a refused COPY is explained by. */
export const staleSql = (t: Tables) => `${brokenLinkSql(t)}
OR EXISTS (SELECT 1 FROM ${t.entries} e WHERE e.partition = f.partition AND e.seq = f.seq)`;

const unlinked = (t: Tables) => `f.prev IS DISTINCT FROM coalesce(
  (SELECT e.hash FROM ${t.entries} e WHERE e.partition = f.partition AND e.seq = f.seq - 1),
  CASE WHEN f.seq = 1 THEN '${GENESIS}' END)`;

/**
 * Hashes a batch's chains and writes its rows out in COPY's text format, at seal time, so that the
 * work overlaps the commit in flight. Written straight into one buffer, field by field: a row built
 * as a string and the batch joined cost a tenth of a cluster node's thread, flattening them.
 * `headOf` gives each partition's hash before the batch.
 */
export function prepareBatch(
  entries: readonly LedgerEntry[],
  bodies: readonly string[],
  headOf: (partition: number) => string,
): Prepared {
  const guards = new Map<number, readonly [number, string]>();
  const links = new Map<number, string>();
  const linked: [LedgerEntry, string, string][] = [];
  const rows: string[][] = [];
  let size = 0;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const body = bodies[i]!;
    const prev = links.get(e.partition) ?? headOf(e.partition);
    if (!guards.has(e.partition)) guards.set(e.partition, [e.seq, prev]);
    const hash = chainHash(prev, leafHash(body));
    links.set(e.partition, hash);
    linked.push([e, prev, hash]);
    const text = body.includes('\\') ? body.replaceAll('\\', '\\\\') : body;
    const row = [String(e.partition), String(e.seq), field(e.kind), String(e.at), field(e.msgId)];
    row.push(
      field(e.causationId),
      field(e.correlationId),
      field(e.subject),
      field(e.agent),
      text,
      prev,
      hash,
    );
    for (const value of row) size += Buffer.byteLength(value);
    rows.push(row);
  }
  // Each field's UTF-8 and one separator byte: sized exactly, as a batch is held until it commits.
  const data = Buffer.allocUnsafe(size + rows.length * 12);
  const ends: number[] = [];
  let at = 0;
  for (const row of rows) {
    for (let c = 0; c < row.length; c++) {
      at += data.write(row[c]!, at);
      data[at++] = c === row.length - 1 ? NEWLINE : TAB;
    }
    ends.push(at);
  }
  return { data, ends, guards, linked };
}

const TAB = 0x09;
const NEWLINE = 0x0a;

/** The batch without one partition's rows (fenced): the other chains are untouched by them. */
export function withoutPartition(p: Prepared, partition: number): Prepared {
  if (!p.guards.has(partition)) return p;
  const kept: Buffer[] = [];
  const ends: number[] = [];
  const linked: Prepared['linked'] = [];
  let size = 0;
  for (let i = 0; i < p.linked.length; i++) {
    if (p.linked[i]![0].partition === partition) continue;
    const row = p.data.subarray(i === 0 ? 0 : p.ends[i - 1], p.ends[i]);
    kept.push(row);
    size += row.length;
    ends.push(size);
    linked.push(p.linked[i]!);
  }
  const guards = new Map(p.guards);
  guards.delete(partition);
  return { data: Buffer.concat(kept, size), ends, guards, linked };
}

/** One commit's COPY data and each partition's first row, from the batches it merges. */
export function commitParams(parts: readonly Prepared[]) {
  const firsts: [number[], number[], string[]] = [[], [], []];
  const guarded = new Set<number>();
  for (const { guards } of parts) {
    for (const [partition, [seq, prev]] of guards) {
      if (guarded.has(partition)) continue;
      guarded.add(partition);
      firsts[0].push(partition);
      firsts[1].push(seq);
      firsts[2].push(prev);
    }
  }
  const linked = parts.flatMap((p) => p.linked);
  const data = parts.length === 1 ? parts[0]!.data : Buffer.concat(parts.map((p) => p.data));
  return { data, firsts, linked };
}

/** `details` names the chain and the seq refused, as numbers, for a shell that handles ownership. */
export function fencedError(at: PostgresLocation, partition: number, seq: number): MeshwardenError {
  return ledgerError(
    'MW_LEDGER_FENCED',
    { location: at.label, partition: String(partition), seq: String(seq) },
    { details: { partition, seq } },
  );
}
