import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Contract, compileContract } from '../contracts/index.js';
import type { JsonObject } from '../envelope/index.js';
import { openLedger } from '../ledger/index.js';
import { checkRecordedPayloads } from './recorded-payloads.js';

const newFile = () => join(mkdtempSync(join(tmpdir(), 'meshwarden-payloads-')), 'ledger.db');

function contract(type: string, schema: object): Contract {
  const compiled = compileContract(type, schema);
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.issues));
  return compiled.contract;
}

const decision = (id: string, type: string, data: JsonObject, decision: string, at = 1) => ({
  kind: 'decision',
  at,
  msgId: id,
  data: { gated: 'message', verdict: { decision, stage: 'x', reason: 'x.y' }, envelope: { id, type, data } },
});

describe('checkRecordedPayloads', () => {
  it('validates delivered payloads and released holds of the given types, not refused or other ones', async () => {
    await using ledger = openLedger({ file: newFile(), origin: 't' });
    await ledger.appendAll([
      decision('m1', 'credit.v1', { amount: 5 }, 'deliver'),
      decision('m2', 'credit.v1', { amount: 50 }, 'deliver'),
      decision('m3', 'credit.v1', { amount: 70 }, 'deny'),
      decision('m4', 'credit.v1', { amount: 80 }, 'hold'),
      decision('m5', 'credit.v1', { amount: 90 }, 'hold'),
      decision('m6', 'other.v1', { amount: 99 }, 'deliver'),
      { kind: 'hold.released', at: 2, msgId: 'm4', data: { by: 'timeout', outcome: 'deliver', deltas: [] } },
      { kind: 'hold.released', at: 2, msgId: 'm5', data: { by: 'timeout', outcome: 'deny', deltas: [] } },
      decision('m7', 'other.v1', { amount: 1 }, 'hold'),
      {
        ...decision('m8', 'pay.send', { amount: 1 }, 'hold'),
        data: { ...decision('m8', 'pay.send', { amount: 1 }, 'hold').data, gated: 'effect' },
      },
    ]);
    const contracts = new Map([
      ['credit.v1', contract('credit.v1', { properties: { amount: { maximum: 10 } } })],
    ]);
    const progress: number[] = [];
    const result = await checkRecordedPayloads(ledger, contracts, {
      keep: 1,
      every: 3,
      progress: (n) => progress.push(n),
    });
    expect(result.entries).toBe(10);
    expect(progress).toEqual([3, 6, 9]);
    // Holds never released, of every type (not only the checked ones): what still waits for a pilot.
    expect(result.open).toEqual([
      { type: 'other.v1', kind: 'message' },
      { type: 'pay.send', kind: 'effect' },
    ]);
    expect(result.types.get('credit.v1')).toEqual({
      checked: 3,
      rejected: 2,
      first: [
        {
          id: 'm2',
          pointer: '/amount',
          schemaPointer: '/properties/amount/maximum',
          message: 'must be <= 10',
        },
      ],
    });
  });

  it('rejects, unvalidated, a recorded payload nested deeper than a message may be', async () => {
    await using ledger = openLedger({ file: newFile(), origin: 't' });
    let deep: JsonObject = {};
    for (let i = 0; i < 100; i++) deep = { a: deep };
    await ledger.appendAll([decision('m1', 'a.v1', deep, 'deliver')]);
    // A recursive contract: Ajv would walk the payload as deep as it goes.
    const tree = contract('a.v1', {
      $ref: '#/$defs/tree',
      $defs: { tree: { type: 'object', additionalProperties: { $ref: '#/$defs/tree' } } },
    });
    const result = await checkRecordedPayloads(ledger, new Map([['a.v1', tree]]));
    expect(result.types.get('a.v1')).toEqual({
      checked: 1,
      rejected: 1,
      first: [
        { id: 'm1', pointer: '/a'.repeat(63), schemaPointer: '', message: 'nests deeper than 63 levels' },
      ],
    });
  });

  it('reports every given type, with nothing recorded', async () => {
    await using ledger = openLedger({ file: newFile(), origin: 't' });
    const result = await checkRecordedPayloads(ledger, new Map([['a.v1', contract('a.v1', {})]]));
    expect(result.types.get('a.v1')).toEqual({ checked: 0, rejected: 0, first: [] });
  });
});
