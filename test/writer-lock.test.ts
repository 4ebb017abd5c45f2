import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { isMeshwardenError } from '../src/envelope/index.js';
import { openLedger, openLedgerAt } from '../src/ledger/index.js';
import { tempPostgresSchemas } from '../src/ledger/postgres-test-kit.js';
import { REPO, runCli, tempDir } from './run-cli.js';
import { call, startUp, until } from './up-process.js';

const MESH = join(REPO, 'examples', 'retention', 'mesh.yaml');
const TICKETS = join(REPO, 'examples', 'retention', 'tickets.jsonl');

describe('one writer per SQLite ledger', () => {
  it('refuses a second writer while `up` runs, and readers still read', async () => {
    const data = join(tempDir('writer-lock'), 'data');
    expect((await runCli(['run', MESH, '--input', TICKETS, '--data', data])).code).toBe(0);
    const up = await startUp([MESH, '--data', data]);
    try {
      const second = await runCli(['run', MESH, '--input', TICKETS, '--data', data]);
      expect(second.code).toBe(1);
      expect(second.stdout).toBe('');
      expect(second.stderr).toContain('error MW_LEDGER_LOCKED:');
      expect(second.stderr).toContain(join(data, 'ledger.db'));
      expect(second.stderr).toContain(`process ${up.child.pid}`);
      const json = await runCli(['run', MESH, '--input', TICKETS, '--data', data, '--json']);
      expect(JSON.parse(json.stdout).errors.map((e: { code: string }) => e.code)).toContain(
        'MW_LEDGER_LOCKED',
      );
      expect((await runCli(['audit', 'verify', '--data', data])).code).toBe(0);
      expect((await call(up, up.token, 'GET', '/health')).status).toBe(200);
      expect((await call(up, up.token, 'GET', '/ledger')).status).toBe(200);
    } finally {
      expect(await up.stop()).toBe(0);
    }
    expect(statSync(join(data, 'ledger.db.lock')).mode & 0o777).toBe(0o600);
    // The lock went with the process: the next writer opens the ledger.
    expect((await runCli(['run', MESH, '--input', TICKETS, '--data', data])).code).toBe(0);
  });

  it('stops `up` with exit 1 when its ledger closes on an error, without claiming a clean stop', async () => {
    const data = join(tempDir('writer-fenced'), 'data');
    const up = await startUp([MESH, '--data', data]);
    // A writer that bypasses the lock (the adapter opened directly) moves the chain under `up`.
    const intruder = openLedger({ file: join(data, 'ledger.db') });
    await intruder.append({ kind: 'test.intruder', at: 1, data: {} });
    await intruder.close();
    await call(up, up.token, 'POST', '/freeze', { subject: 'account:1', reason: 'fence me' });
    await until(async () => up.child.exitCode !== null, 'up to exit');
    expect(await up.stop()).toBe(1);
    expect(up.stderr()).toContain('error MW_LEDGER_FENCED:');
    expect(up.stderr()).not.toContain('stopped cleanly');
  });
});

const freshSchema = tempPostgresSchemas();

function topSeq(db: DatabaseSync): number {
  return Number(db.prepare('SELECT max(seq) AS n FROM entries WHERE partition = 0').get()?.n ?? 0);
}

/** Many tickets, so that a run is still writing when another writer cuts in. */
function bigInput(dir: string): string {
  const file = join(dir, 'big.jsonl');
  const line = (i: number) =>
    JSON.stringify({
      source: 'inbox',
      type: 'ticket.opened.v1',
      subject: `account:${i}`,
      data: { text: 'angry' },
    });
  writeFileSync(file, `${Array.from({ length: 20_000 }, (_, i) => line(i)).join('\n')}\n`);
  return file;
}

describe('a run whose ledger is taken from it', () => {
  it('refuses a second embedded writer on one PostgreSQL schema at open', async () => {
    const at = freshSchema();
    const holder = await openLedgerAt(at.location, { origin: 'retention', keyFile: at.keyFile });
    if (isMeshwardenError(holder)) throw holder;
    try {
      const data = join(tempDir('pg-writer'), 'data');
      const second = await runCli(['run', MESH, '--input', TICKETS, '--data', data, '--ledger', at.location]);
      expect(second.code).toBe(1);
      expect(second.stdout).toBe('');
      expect(second.stderr).toContain('error MW_LEDGER_LOCKED:');
      expect(second.stderr).toContain(`meshwarden writer pid ${process.pid}`);
      expect(await holder.count()).toBe(0);
    } finally {
      await holder.close();
    }
  });

  it('ends a fenced SQLite run with one error line and exit 1, no stack and no flood of logs', async () => {
    const dir = tempDir('fenced-run');
    const data = join(dir, 'data');
    const running = runCli(['run', MESH, '--input', bigInput(dir), '--data', data]);
    const file = join(data, 'ledger.db');
    // Bypasses the writer lock on purpose: once the run has committed some entries, a row is put
    // at the next seq of partition 0's chain, read and written in one write transaction so that
    // the run cannot commit past it in between: its commit of that seq is refused (fenced),
    // whatever the speed of the machine.
    await until(async () => {
      if (!existsSync(file)) return undefined;
      try {
        const db = new DatabaseSync(file, { readOnly: true });
        try {
          return topSeq(db) >= 50 ? true : undefined;
        } finally {
          db.close();
        }
      } catch {
        return undefined; // the file is still being created, or locked for a moment: look again
      }
    }, 'the run committing');
    const db = new DatabaseSync(file);
    db.exec('PRAGMA busy_timeout = 5000');
    db.exec('BEGIN IMMEDIATE');
    db.prepare(
      `INSERT INTO entries (partition, seq, kind, at, body, prev, hash) VALUES (0, ?, 'test.intruder', 1, '{}', 'x', 'y')`,
    ).run(topSeq(db) + 1);
    db.exec('COMMIT');
    db.close();
    const run = await running;
    expect(run.code).toBe(1);
    const lines = run.stderr.trim().split('\n');
    const said = lines.filter((l) => !l.startsWith('{') && !l.startsWith('…'));
    expect(said).toEqual([expect.stringMatching(/^error MW_LEDGER_FENCED: /)]);
    expect(lines.filter((l) => l.startsWith('{')).length).toBeLessThanOrEqual(1);
  });
});
