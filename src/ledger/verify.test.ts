import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signCheckpoint } from './checkpoint.js';
import { ledgerError } from './errors.js';
import { chainHash, entryBody, GENESIS, leafHash } from './hash.js';
import type { PartitionHead, StoredRow } from './types.js';
import { verifyChain, verifyLedger, verifyRows } from './verify.js';

const AT = 1_732_000_000_000;

/** A valid chain of `n` rows for `partition`, built without SQLite. */
function chain(partition: number, n: number): StoredRow[] {
  const rows: StoredRow[] = [];
  let prev = GENESIS;
  for (let seq = 1; seq <= n; seq++) {
    const record = { kind: 'decision', at: AT + seq, msgId: `m${partition}-${seq}`, data: { seq } };
    const body = entryBody(partition, seq, record);
    const hash = chainHash(prev, leafHash(body));
    rows.push({
      partition,
      seq,
      kind: 'decision',
      at: AT + seq,
      msg_id: record.msgId,
      causation_id: null,
      correlation_id: null,
      subject: null,
      agent: null,
      body,
      prev,
      hash,
    });
    prev = hash;
  }
  return rows;
}

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const pem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
const sign = (partitions: PartitionHead[]) =>
  signCheckpoint({ origin: 'test', at: AT, partitions }, privateKey, pem);
const headOf = (rows: StoredRow[], size: number): PartitionHead => ({
  partition: rows[0]!.partition,
  size,
  head: rows[size - 1]!.hash,
});

/** The row with another body and a hash recomputed to match, as a careful attacker would write it. */
const rebody = (row: StoredRow, body: string): StoredRow => ({
  ...row,
  body,
  hash: chainHash(row.prev, leafHash(body)),
});

const p0 = chain(0, 4);
const p2 = chain(2, 3);

describe('verifyChain', () => {
  it('accepts valid chains and reports their heads', () => {
    const result = verifyChain([...p0, ...p2], [sign([headOf(p0, 2), headOf(p2, 3)]), sign([headOf(p0, 4)])]);
    expect(result).toEqual({
      ok: true,
      entries: 7,
      heads: [headOf(p0, 4), headOf(p2, 3)],
      checkpoints: 2,
    });
  });

  it('accepts an empty ledger', () => {
    expect(verifyChain([], [])).toMatchObject({ ok: true, entries: 0, heads: [] });
  });

  it.each<[string, StoredRow[], PartitionHead[][], Record<string, unknown>]>([
    ['a missing first row', p0.slice(1), [], { problem: 'sequence-gap', partition: 0, seq: 1 }],
    [
      'a partition named by a checkpoint but absent',
      p0,
      [[headOf(p0, 4), headOf(p2, 2)]],
      { problem: 'truncated', partition: 2, seq: 2, expected: '2', actual: '0' },
    ],
    [
      'a cut tail',
      [...p0.slice(0, 3), ...p2],
      [[headOf(p0, 4)]],
      { problem: 'truncated', partition: 0, seq: 4, expected: '4', actual: '3' },
    ],
    [
      'a head that differs from the checkpoint',
      [...p0, ...p2],
      [[{ ...headOf(p2, 2), head: p2[0]!.hash }]],
      { problem: 'checkpoint-mismatch', partition: 2, seq: 2, expected: p2[0]!.hash, actual: p2[1]!.hash },
    ],
    [
      'a body that is not text',
      [p0[0]!, { ...p0[1]!, body: 42 as unknown as string }],
      [],
      { problem: 'malformed-row', partition: 0, seq: 2 },
    ],
    ...[
      ['not JSON', '{'],
      ['an array', '[]'],
      ['an unknown field', p0[1]!.body.replace('{', '{"extra":1,')],
      ['a number kind', p0[1]!.body.replace('"kind":"decision"', '"kind":7')],
      ['no data', p0[1]!.body.replace('"data":{"seq":2},', '')],
      ['no seq', p0[1]!.body.replace(',"seq":2', '')],
    ].map(([what, body]): [string, StoredRow[], PartitionHead[][], Record<string, unknown>] => [
      `a body that is ${what}, hash recomputed`,
      [p0[0]!, rebody(p0[1]!, body!)],
      [],
      { problem: 'malformed-row', partition: 0, seq: 2 },
    ]),
    ['rows out of partition order', [...p2, ...p0], [], { problem: 'malformed-row', partition: 2, seq: 4 }],
    [
      'a column that differs from the body',
      [p0[0]!, { ...p0[1]!, msg_id: 'other' }],
      [],
      { problem: 'column-mismatch', partition: 0, seq: 2, expected: 'm0-2', actual: 'other' },
    ],
  ])('finds %s', (_, rows, checkpoints, expected) => {
    expect(verifyChain(rows, checkpoints.map(sign))).toMatchObject({ ok: false, ...expected });
  });

  it('names the first problem in partition order', () => {
    const bad0 = [p0[0]!, { ...p0[1]!, hash: GENESIS }, ...p0.slice(2)];
    const bad2 = [p2[0]!, { ...p2[1]!, prev: GENESIS }, p2[2]!];
    expect(verifyChain([...bad0, ...bad2], [])).toMatchObject({
      problem: 'hash-mismatch',
      partition: 0,
      seq: 2,
    });
  });

  it('rejects a checkpoint whose signature does not verify before reading rows', () => {
    const cp = sign([headOf(p0, 4)]);
    const forged = { ...cp, at: cp.at + 1 };
    expect(verifyChain(p0, [cp, forged])).toMatchObject({ ok: false, problem: 'bad-signature', seq: 0 });
  });
});

/** The rows as an async stream that records how far it was read and whether it was released. */
function stream(rows: readonly StoredRow[]) {
  const seen = { read: 0, released: false };
  async function* gen() {
    try {
      for (const row of rows) {
        seen.read++;
        yield row;
      }
    } finally {
      seen.released = true;
    }
  }
  return { rows: gen(), seen };
}

describe('verifyRows', () => {
  it("gives verifyChain's result over an async stream", async () => {
    const checkpoints = [sign([headOf(p0, 2), headOf(p2, 3)])];
    const { rows } = stream([...p0, ...p2]);
    expect(await verifyRows(rows, checkpoints)).toEqual(verifyChain([...p0, ...p2], checkpoints));
  });

  it('stops reading at the first bad entry and releases the stream', async () => {
    const { rows, seen } = stream([p0[0]!, { ...p0[1]!, hash: GENESIS }, ...p0.slice(2)]);
    expect(await verifyRows(rows, [])).toMatchObject({ ok: false, problem: 'hash-mismatch', seq: 2 });
    expect(seen).toEqual({ read: 2, released: true });
  });

  it('reads no row when a checkpoint signature fails', async () => {
    const cp = sign([headOf(p0, 4)]);
    const { rows, seen } = stream(p0);
    expect(await verifyRows(rows, [{ ...cp, at: cp.at + 1 }])).toMatchObject({ problem: 'bad-signature' });
    expect(seen.read).toBe(0);
  });
});

describe('verifyLedger', () => {
  it('checks the stored rows against the stored and the given checkpoints', async () => {
    const stored = sign([headOf(p0, 2)]);
    const reader = { storedRows: () => stream(p0).rows, checkpoints: async () => [stored] };
    expect(await verifyLedger(reader, [sign([headOf(p0, 4)])])).toMatchObject({ ok: true, checkpoints: 2 });
    expect(
      await verifyLedger(reader, [sign([headOf(p0, 3), { ...headOf(p2, 1), partition: 5 }])]),
    ).toMatchObject({
      ok: false,
      problem: 'truncated',
      partition: 5,
    });
  });

  it('counts a given checkpoint that is a stored one once, and still checks a changed copy', async () => {
    const stored = sign([headOf(p0, 2)]);
    const reader = { storedRows: () => stream(p0).rows, checkpoints: async () => [stored] };
    const copy = JSON.parse(JSON.stringify(stored)) as typeof stored;
    expect(await verifyLedger(reader, [copy])).toMatchObject({ ok: true, checkpoints: 1 });
    expect(await verifyLedger(reader, [{ ...stored, at: stored.at + 1 }])).toMatchObject({
      ok: false,
      problem: 'bad-signature',
    });
  });

  it('fails as bad-signature when a stored checkpoint cannot be read', async () => {
    const unreadable = ledgerError('MW_LEDGER_CHECKPOINT', { problem: 'stored checkpoint 1: not JSON' });
    const reader = { storedRows: () => stream(p0).rows, checkpoints: () => Promise.reject(unreadable) };
    expect(await verifyLedger(reader)).toMatchObject({ ok: false, problem: 'bad-signature', seq: 0 });
  });
});
