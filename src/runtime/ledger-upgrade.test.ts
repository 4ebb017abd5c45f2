import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ledgerFile, openMesh } from './open.js';
import { writeMesh } from './test-kit.js';

// A mesh opened on a ledger of SQLite schema version 1 moves it to 3 (docs/ledger.md, "Schema
// versions") and says so in its log, before (the move may take seconds) and after.
describe('a mesh on a version-1 ledger', () => {
  it('moves the ledger to version 3 and logs a warning before and after', async () => {
    const dir = writeMesh(0);
    const dataDir = join(dir, 'data');
    const first = await openMesh({
      meshFile: join(dir, 'mesh.yaml'),
      dataDir,
      log: pino({ level: 'silent' }),
    });
    if (!first.ok) throw new Error(JSON.stringify(first));
    await first.opened.mesh.inject('api', { type: 'job.queued.v1', subject: 'job:1', data: { n: 1 } });
    await first.opened[Symbol.asyncDispose]();
    // As version 1 left it: the subject an index on entries, no lookup tables.
    const db = new DatabaseSync(ledgerFile(dataDir));
    db.exec(`DROP TABLE subject_entries; DROP TABLE subject_filled;
      CREATE INDEX entries_subject ON entries (subject, partition, seq) WHERE subject IS NOT NULL;
      UPDATE meta SET value = '1' WHERE key = 'schema'`);
    db.close();

    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
        done();
      },
    });
    const again = await openMesh({
      meshFile: join(dir, 'mesh.yaml'),
      dataDir,
      log: pino({ level: 'warn' }, sink),
    });
    if (!again.ok) throw new Error(JSON.stringify(again));
    const found = await again.opened.ledger.bySubject('job:1');
    await again.opened[Symbol.asyncDispose]();
    expect(found.length).toBeGreaterThan(0);
    expect(lines.filter((l) => l.layer === 'ledger')).toEqual([
      expect.objectContaining({ level: 40, from: '1', to: '3', entries: expect.any(Number) }),
      expect.objectContaining({ level: 40, from: '1', to: '3' }),
    ]);
  });
});
