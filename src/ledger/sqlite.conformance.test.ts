import { DatabaseSync } from 'node:sqlite';
import { canonicalize } from '../envelope/index.js';
import { type ConformanceStore, describeLedgerConformance, type Tampering } from './conformance.js';
import { openLedger } from './sqlite.js';
import { tempLedgerFiles } from './test-kit.js';
import type { Checkpoint } from './types.js';

const tempFile = tempLedgerFiles('mw-conformance-');

/** The attacker's side: plain SQL on a second connection. */
function tamper(file: string, change: Tampering): void {
  const db = new DatabaseSync(file);
  try {
    if ('set' in change) {
      const { partition, seq, column, value } = change.set;
      db.prepare(`UPDATE entries SET ${column} = ? WHERE partition = ? AND seq = ?`).run(
        value,
        partition,
        seq,
      );
    } else if ('delete' in change) {
      const { partition, seq } = change.delete;
      if (seq === undefined) db.prepare('DELETE FROM entries WHERE partition = ?').run(partition);
      else db.prepare('DELETE FROM entries WHERE partition = ? AND seq = ?').run(partition, seq);
    } else {
      const stored = db
        .prepare('SELECT body FROM checkpoints ORDER BY id')
        .all()
        .map((row) => JSON.parse(String(row.body)) as Checkpoint);
      db.exec('DELETE FROM checkpoints');
      const insert = db.prepare('INSERT INTO checkpoints (body) VALUES (?)');
      for (const cp of change.checkpoints(stored)) insert.run(canonicalize(cp));
    }
  } finally {
    db.close();
  }
}

describeLedgerConformance('sqlite', (): ConformanceStore => {
  const file = tempFile();
  return {
    open: () => openLedger({ file, origin: 'conformance' }),
    tamper: (change) => tamper(file, change),
  };
});
