import { canonicalize } from '../envelope/index.js';
import { type ConformanceStore, describeLedgerConformance, type Tampering } from './conformance.js';
import { openPostgresLedger } from './postgres.js';
import { type TestSchema, tempPostgresSchemas } from './postgres-test-kit.js';
import type { Checkpoint } from './types.js';

const freshSchema = tempPostgresSchemas();

/** The attacker's side: plain SQL on another connection. */
async function tamper(at: TestSchema, change: Tampering): Promise<void> {
  const entries = `"${at.schema}".entries`;
  const checkpoints = `"${at.schema}".checkpoints`;
  if ('set' in change) {
    const { partition, seq, column, value } = change.set;
    await at.query(`UPDATE ${entries} SET ${column} = $1 WHERE partition = $2 AND seq = $3`, [
      value,
      partition,
      seq,
    ]);
  } else if ('delete' in change) {
    const { partition, seq } = change.delete;
    if (seq === undefined) await at.query(`DELETE FROM ${entries} WHERE partition = $1`, [partition]);
    else await at.query(`DELETE FROM ${entries} WHERE partition = $1 AND seq = $2`, [partition, seq]);
  } else {
    const { rows } = await at.query(`SELECT body FROM ${checkpoints} ORDER BY id`);
    const stored = rows.map((row) => JSON.parse(String(row.body)) as Checkpoint);
    await at.query(`DELETE FROM ${checkpoints}`);
    for (const cp of change.checkpoints(stored)) {
      await at.query(`INSERT INTO ${checkpoints} (body) VALUES ($1)`, [canonicalize(cp)]);
    }
  }
}

describeLedgerConformance('postgres', (): ConformanceStore => {
  const at = freshSchema();
  return {
    open: () => openPostgresLedger({ location: at.location, origin: 'conformance', keyFile: at.keyFile }),
    tamper: (change) => tamper(at, change),
  };
});
