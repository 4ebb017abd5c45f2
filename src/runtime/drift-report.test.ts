import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../envelope/index.js';
import { type LedgerRecord, openLedger } from '../ledger/index.js';
import { driftReport, FIELDS_PER_TYPE } from './drift-report.js';
import { ENTRY } from './records.js';

const NOW = 1_767_225_600_000;

/** One decision of `agent` (name@version) on its n-th input, as the admission records it. */
function decision(
  agent: string,
  n: number,
  gated: 'message' | 'effect',
  decision: string,
  data: JsonObject,
): LedgerRecord {
  return {
    kind: ENTRY.decision,
    at: NOW + n,
    msgId: `${agent}-${gated}-${n}`,
    causationId: `${agent}-in-${n}`,
    agent,
    data: { gated, verdict: { decision }, envelope: { type: gated === 'effect' ? 'x.do.v1' : 'x.v1', data } },
  };
}

async function reportOf(records: readonly LedgerRecord[]) {
  const ledger = openLedger({
    file: join(mkdtempSync(join(tmpdir(), 'mw-drift-report-')), 'l.db'),
    origin: 't',
  });
  try {
    for (let i = 0; i < records.length; i += 500) await ledger.appendAll(records.slice(i, i + 500), 0);
    return await driftReport(ledger);
  } finally {
    await ledger.close();
  }
}

describe('meshwarden drift (offline report)', () => {
  it('compares only fields tracked on both sides when a version reached the field cap', async () => {
    const keys = Array.from({ length: FIELDS_PER_TYPE }, (_, i) => `k${String(i + 1).padStart(2, '0')}`);
    const payload = (extra: boolean): JsonObject =>
      Object.fromEntries([...(extra ? [['a0', 1] as const] : []), ...keys.map((k) => [k, 1] as const)]);
    const records = [
      ...Array.from({ length: 100 }, (_, n) => decision('w@1', n, 'message', 'deliver', payload(false))),
      ...Array.from({ length: 100 }, (_, n) =>
        decision('w@2', 1000 + n, 'message', 'deliver', payload(true)),
      ),
    ];
    const r = await reportOf(records);
    const a = r.agents[0]!;
    expect(a.drifted).toBe(false);
    // v2 tracked a0 and k01..k31 (its first 32); k32 is tracked on one side only: not compared.
    expect(a.fields.map((f) => f.field)).not.toContain('/k32');
    expect(a.fields.map((f) => f.field)).not.toContain('/a0');
    expect(a.fields.every((f) => f.score === 0)).toBe(true);
  });

  it('still sees a field that one version stopped sending', async () => {
    const records = [
      ...Array.from({ length: 100 }, (_, n) => decision('w@1', n, 'message', 'deliver', { a: 1, b: 2 })),
      ...Array.from({ length: 100 }, (_, n) => decision('w@2', 1000 + n, 'message', 'deliver', { a: 1 })),
    ];
    const b = (await reportOf(records)).agents[0]!.fields.find((f) => f.field === '/b');
    expect(b).toMatchObject({ metric: 'structure', drifted: true, currentPresent: 0, currentCount: 100 });
  });

  it('counts an agent that only requests effects: fan-out and verdict mix', async () => {
    const records = [
      ...Array.from({ length: 100 }, (_, n) => decision('e@1', n, 'effect', 'deliver', { n })),
      // v2 asks for two effects per input, and half of them are held.
      ...Array.from({ length: 100 }, (_, n) => [
        decision('e@2', 1000 + n, 'effect', 'deliver', { n }),
        { ...decision('e@2', 1000 + n, 'effect', 'hold', { n }), msgId: `e2-second-${n}` },
      ]).flat(),
    ];
    const a = (await reportOf(records)).agents[0]!;
    expect(a.fanout).toMatchObject({ baseline: 1, current: 2, drifted: true });
    expect(a.verdicts).toMatchObject({ drifted: true });
    expect(a.verdicts.current).toMatchObject({ deliver: 0.5, hold: 0.5 });
    expect(a.drifted).toBe(true);
  });
});
