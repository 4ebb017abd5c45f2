import type pg from 'pg';

// How a PostgreSQL group commit reaches the server (postgres-commit.ts): a check of each chain's
// link to what is stored, then one COPY of the rows, on one connection.

const UNIQUE_VIOLATION = '23505';

/** Chains to fence: each partition and the first seq of it that was refused. */
export type Refused = (readonly [partition: number, seq: number])[];

/** The rows of one commit: their COPY text, and each partition's first row (partition, seq, prev). */
export type CopyRows = {
  readonly data: Buffer;
  readonly firsts: [partitions: number[], seqs: number[], prevs: string[]];
  readonly count: number;
};

/**
 * Checks that each partition's first row continues its stored chain, then copies the rows in, on
 * one connection; gives the partitions (and their first seq) that must be fenced, none once the
 * rows are committed. A COPY refused for a seq another writer took is explained by a read after it
 * (its insert was waited for, so it is visible); should that read fail or find none, the unique
 * violation's detail (`Key (partition, seq)=(3, 7) already exists.`) or else the first partition is
 * fenced, so the retry always has less to write. Anything else throws.
 */
export async function copyChains(
  pool: pg.Pool,
  sql: { readonly broken: string; readonly copy: string; readonly stale: string },
  rows: CopyRows,
): Promise<Refused> {
  const client = await pool.connect();
  let lost: Error | undefined;
  try {
    const unlinked = await client.query<{ partition: number; seq: string }>(sql.broken, rows.firsts);
    if (unlinked.rows.length > 0) return unlinked.rows.map((r) => [r.partition, Number(r.seq)] as const);
    let detail: string | undefined;
    try {
      const copied = await copyIn(client, sql.copy, rows.data);
      if (copied === rows.count) return [];
      throw new Error(`PostgreSQL reported ${copied} rows copied of ${rows.count} sent`);
    } catch (err) {
      const pgErr = err as { code?: string; detail?: string };
      if (pgErr.code !== UNIQUE_VIOLATION) throw err;
      detail = pgErr.detail;
    }
    return await refusedChains(client, sql.stale, rows.firsts, detail);
  } catch (err) {
    // A server's error (it has a severity) leaves the connection usable; any other (a lost
    // socket, a timeout) ends it, so the pool does not hand it out again.
    if (typeof (err as { severity?: unknown }).severity !== 'string')
      lost = err instanceof Error ? err : new Error(String(err));
    throw err;
  } finally {
    client.release(lost);
  }
}

/**
 * `COPY … FROM STDIN` of one buffer, as a node-postgres submittable: the data goes out whole once
 * the server asks for it, then CopyDone; the promise settles on the server's answer. Not
 * pg-copy-streams: its writable stream, refused by the server while a write waited for the
 * socket to drain (a COPY that waited on another writer's row, then failed on it), later wrote
 * through a connection it had let go and threw out of the socket's event, ending the process
 * (brianc/node-pg-copy-streams#171); this sends everything at once and keeps no listener.
 */
function copyIn(client: pg.PoolClient, text: string, data: Buffer): Promise<number> {
  const { promise, resolve, reject } = Promise.withResolvers<number>();
  let rows = Number.NaN;
  const copy = {
    // node-postgres wraps `callback` with its read timeout, and calls it with a timeout's error.
    callback: (err: Error | null) => (err === null ? resolve(rows) : reject(err)),
    submit(connection: CopyConnection) {
      connection.query(text);
    },
    handleCopyInResponse(connection: CopyConnection) {
      connection.sendCopyFromChunk(data);
      connection.endCopyFrom();
    },
    handleCommandComplete(msg: { text?: string }) {
      const m = /^COPY (\d+)$/.exec(msg.text ?? '');
      if (m !== null) rows = Number(m[1]);
    },
    handleReadyForQuery() {
      copy.callback(null);
    },
    handleError(err: Error) {
      copy.callback(err);
    },
  };
  client.query(copy as unknown as pg.QueryConfig);
  return promise;
}

/** What of node-postgres's connection a COPY uses. */
type CopyConnection = {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
};

/** The partitions whose chains moved on, read after the COPY was refused (see copyChains). */
async function refusedChains(
  client: pg.PoolClient,
  staleQuery: string,
  firsts: CopyRows['firsts'],
  detail: string | undefined,
): Promise<Refused> {
  const found: Refused = [];
  try {
    const { rows } = await client.query<{ partition: number; seq: string }>(staleQuery, firsts);
    for (const r of rows) found.push([r.partition, Number(r.seq)]);
  } catch {}
  const m = /=\((\d+), (\d+)\)/.exec(detail ?? '');
  if (found.length === 0 && m !== null) found.push([Number(m[1]), Number(m[2])]);
  const inCommit = found.filter(([p]) => firsts[0].includes(p));
  return inCommit.length > 0 ? inCommit : [[firsts[0][0]!, firsts[1][0]!] as const];
}
