import type { MeshwardenError } from '../envelope/index.js';
import { ledgerError } from './errors.js';
import { chainHash, GENESIS, leafHash } from './hash.js';
import type { PostgresLocation, Tables } from './postgres-schema.js';
import type { LedgerEntry } from './types.js';

// The statement a PostgreSQL group commit runs, and its parameters: what postgres-commit.ts sends.

/** A sealed batch: its 12 columns as array elements (bodies as they are), each partition's first row. */
export type Prepared = {
  readonly elems: string[][];
  readonly guards: Map<number, readonly [seq: number, prev: string]>;
  readonly linked: [entry: LedgerEntry, prev: string, hash: string][];
};

/**
 * Bodies travel as one text, joined by U+001F, which canonical JSON always escapes (every control
 * character is written `\u00XX`), so nothing needs quoting: PostgreSQL splits it with
 * `string_to_array`. Prev and hash (`sha256:<hex>`) need no quotes in an array literal either.
 */
const BODY_SEPARATOR = '\u001f';
const RAW = new Set([9, 10, 11]);

/** One element of a PostgreSQL array literal: NULL, a number, or a quoted text. */
function element(value: string | number | undefined): string {
  if (value === undefined) return 'NULL';
  if (typeof value === 'number') return String(value);
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}

// One statement per commit, atomic on its own (autocommit): every row from arrays, inserted only if
// each partition's first row continues the chain as stored (its prev is the stored hash of seq − 1,
// GENESIS for seq 1). The rows after it chain onto it within the statement, and the primary key
// (partition, seq) refuses a seq that another writer took meanwhile (its uncommitted insert makes
// this one wait, then fail). So a writer with a stale head inserts nothing, and no chain forks.
export const insertSql = (t: Tables) => `
INSERT INTO ${t.entries} (partition, seq, kind, at, msg_id, causation_id, correlation_id, subject, agent, body, prev, hash)
SELECT * FROM unnest($1::int[], $2::bigint[], $3::text[], $4::float8[], $5::text[], $6::text[], $7::text[],
  $8::text[], $9::text[], string_to_array($10::text, E'\\x1f'), $11::text[], $12::text[])
WHERE NOT EXISTS (${staleSql(t, 13)})`;

/**
 * Each partition's first row that does not continue the chain as stored: its prev is not the stored
 * hash before it, or its seq is taken already (committed). The arrays bind from `$n`.
 */
export const staleSql = (t: Tables, n: number) => `
SELECT f.partition, f.seq FROM unnest($${n}::int[], $${n + 1}::bigint[], $${n + 2}::text[]) AS f (partition, seq, prev)
WHERE f.prev IS DISTINCT FROM coalesce(
  (SELECT e.hash FROM ${t.entries} e WHERE e.partition = f.partition AND e.seq = f.seq - 1),
  CASE WHEN f.seq = 1 THEN '${GENESIS}' END)
OR EXISTS (SELECT 1 FROM ${t.entries} e WHERE e.partition = f.partition AND e.seq = f.seq)`;

/**
 * Hashes a batch's chains and writes its columns out as array elements, at seal time, so that the
 * work overlaps the statement in flight (one row per entry, in order; `pg` sends the text as is).
 * `headOf` gives each partition's hash before the batch.
 */
export function prepareBatch(
  entries: readonly LedgerEntry[],
  bodies: readonly string[],
  headOf: (partition: number) => string,
): Prepared {
  const elems: string[][] = Array.from({ length: 12 }, () => []);
  const guards = new Map<number, readonly [number, string]>();
  const links = new Map<number, string>();
  const linked: [LedgerEntry, string, string][] = [];
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const body = bodies[i]!;
    const prev = links.get(e.partition) ?? headOf(e.partition);
    if (!guards.has(e.partition)) guards.set(e.partition, [e.seq, prev]);
    const hash = chainHash(prev, leafHash(body));
    links.set(e.partition, hash);
    linked.push([e, prev, hash]);
    const row = [e.partition, e.seq, e.kind, e.at, e.msgId, e.causationId, e.correlationId];
    row.push(e.subject, e.agent, body, prev, hash);
    for (let c = 0; c < 12; c++) elems[c]!.push(RAW.has(c) ? (row[c] as string) : element(row[c]));
  }
  return { elems, guards, linked };
}

/** The batch without one partition's rows (fenced): the other chains are untouched by them. */
export function withoutPartition(p: Prepared, partition: number): Prepared {
  if (!p.guards.has(partition)) return p;
  const keep: number[] = [];
  for (let i = 0; i < p.linked.length; i++) if (p.linked[i]![0].partition !== partition) keep.push(i);
  const guards = new Map(p.guards);
  guards.delete(partition);
  return {
    elems: p.elems.map((col) => keep.map((i) => col[i]!)),
    guards,
    linked: keep.map((i) => p.linked[i]!),
  };
}

/** One statement's parameters from the batches it merges: 12 column texts, then the guard arrays. */
export function statementParams(parts: readonly Prepared[]) {
  const cols: [number[], number[], string[]] = [[], [], []];
  const guarded = new Set<number>();
  for (const { guards } of parts) {
    for (const [partition, [seq, prev]] of guards) {
      if (guarded.has(partition)) continue;
      guarded.add(partition);
      cols[0].push(partition);
      cols[1].push(seq);
      cols[2].push(prev);
    }
  }
  const linked = parts.flatMap((p) => p.linked);
  const arrays = Array.from({ length: 12 }, (_, c) =>
    c === 9
      ? parts
          .filter((p) => p.linked.length > 0)
          .map((p) => p.elems[c]!.join(BODY_SEPARATOR))
          .join(BODY_SEPARATOR)
      : `{${parts
          .filter((p) => p.linked.length > 0)
          .map((p) => p.elems[c]!.join(','))
          .join(',')}}`,
  );
  return { arrays, cols, linked };
}

/** `details` names the chain and the seq refused, as numbers, for a shell that handles ownership. */
export function fencedError(at: PostgresLocation, partition: number, seq: number): MeshwardenError {
  return ledgerError(
    'MW_LEDGER_FENCED',
    { location: at.label, partition: String(partition), seq: String(seq) },
    { details: { partition, seq } },
  );
}
