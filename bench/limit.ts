// The machine's limit for a durable hop, with no logic: RFC 8785 canonical JSON of a decision-sized
// record, a sha256 hash chain, and a node:sqlite WAL append in 512-row transactions, on one thread.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { canonicalize, sha256 } from '../dist/envelope/index.js';

/** `synchronous`: NORMAL (the default) or FULL, the SQLite settings behind `normal` and `full` durability. */
export function durableHopLimit(
  hops: number,
  synchronous: 'NORMAL' | 'FULL' = 'NORMAL',
): { hops: number; seconds: number; hopsPerSecond: number } {
  const dir = mkdtempSync(join(tmpdir(), 'meshwarden-limit-'));
  try {
    const db = new DatabaseSync(join(dir, 'limit.db'));
    db.exec('PRAGMA journal_mode = WAL');
    db.exec(`PRAGMA synchronous = ${synchronous}`);
    db.exec('CREATE TABLE entries (seq INTEGER PRIMARY KEY, body TEXT NOT NULL, hash TEXT NOT NULL)');
    const insert = db.prepare('INSERT INTO entries (seq, body, hash) VALUES (?, ?, ?)');
    let prev = `sha256:${'0'.repeat(64)}`;
    const started = process.hrtime.bigint();
    db.exec('BEGIN');
    for (let i = 1; i <= hops; i++) {
      const body = canonicalize(record(i));
      prev = sha256(`${prev}${sha256(body)}`);
      insert.run(i, body, prev);
      if (i % 512 === 0) {
        db.exec('COMMIT');
        db.exec('BEGIN');
      }
    }
    db.exec('COMMIT');
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    db.close();
    return { hops, seconds: Math.round(seconds * 1000) / 1000, hopsPerSecond: Math.round(hops / seconds) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * How fast this machine is now, as the limit loop reads it (the best of three 100,000-hop runs): the
 * cluster benches print it beside their rates, so that runs on days of other speeds compare. On this
 * repository's 2-core machine it has read 70,000 on slow days and 158,000 on fast ones.
 */
export function machineSpeed(): number {
  return Math.max(...[1, 2, 3].map(() => durableHopLimit(100_000).hopsPerSecond));
}

/**
 * About the size and shape of a runtime decision entry (envelope, verdict, two state deltas), with
 * members in canonical order as the runtime builds them, so canonicalize() takes the same native
 * JSON.stringify road it takes in the runtime.
 */
function record(i: number) {
  const id = `01a20bf7-0b05-7038-bc96-${i.toString(16).padStart(12, '0')}`;
  return {
    data: {
      deltas: [
        { key: `rl|per-entity|entity:${i % 1000}`, kind: 'bucket', state: { tat: 1795497069318 + i } },
        { key: 'rl|per-agent|one', kind: 'bucket', state: { tat: 1795497069317 + i } },
      ],
      envelope: {
        correlationid: id,
        data: { value: i },
        hop: 1,
        id,
        policydigest: 'sha256:bf4fe9f053bc5cc097a5b7b0174544d1445ca41b9280e608bc9fdfb8fb7bdc91',
        source: 'mesh://bench/one@1.0.0',
        specversion: '1.0',
        subject: `entity:${i % 1000}`,
        time: '2026-11-24T05:11:09.317Z',
        traceparent: '00-8e11c6377310a89e5e86ac95cd15e1d4-4a791f23d37b087e-01',
        type: 'step.two.v1',
      },
      gated: 'message',
      verdict: { decision: 'deliver', detail: 'passed every guard', reason: 'gate.admitted', stage: 'gate' },
    },
    kind: 'decision',
    msgId: id,
    seq: i,
    subject: `entity:${i % 1000}`,
  };
}
