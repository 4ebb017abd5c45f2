import { describe, expect, it } from 'vitest';
import type { Contract } from '../../contracts/index.js';
import { decideOnce, envelope, testPolicy } from '../test-kit.js';

const policy = testPolicy();
const throwing: Contract = {
  type: 'ticket.opened.v1',
  schema: {},
  validate() {
    throw new Error('boom');
  },
};
const nested: Contract = {
  type: 'ticket.opened.v1',
  schema: {},
  validate: () => [
    { code: 'MW_CONTRACT', path: ['lines', 2, 'a/b~c'], message: 'must be a number', keyword: 'type' },
    { code: 'MW_CONTRACT', path: [], message: 'must have required property text' },
  ],
};

describe('contract stage', () => {
  it.each([
    { name: 'valid payload', data: { text: 'hi' }, p: policy, reason: 'gate.admitted' },
    { name: 'wrong field type', data: { text: 5 }, p: policy, reason: 'contract.invalid_payload' },
    { name: 'not an object', data: [1, 2], p: policy, reason: 'contract.invalid_payload' },
    {
      name: 'validator throws',
      data: { text: 'hi' },
      p: testPolicy({ contracts: new Map([['ticket.opened.v1', throwing]]) }),
      reason: 'contract.validator_error',
    },
  ])('$name → $reason', ({ data, p, reason }) => {
    const d = decideOnce(envelope({ data }), p);
    expect(d.verdict.reason).toBe(reason);
    if (reason !== 'gate.admitted')
      expect(d.verdict).toMatchObject({ stage: 'contract', decision: 'quarantine' });
  });

  it('turns issue paths into JSON pointers', () => {
    const d = decideOnce(envelope(), testPolicy({ contracts: new Map([['ticket.opened.v1', nested]]) }));
    expect(d.verdict.issues).toEqual([
      { pointer: '/lines/2/a~1b~0c', message: 'must be a number', keyword: 'type' },
      { pointer: '', message: 'must have required property text' },
    ]);
    expect(d.verdict.rule).toBe('ticket.opened.v1');
  });

  it('points at the field', () => {
    expect(decideOnce(envelope({ data: { text: 5 } })).verdict.issues?.[0]?.pointer).toBe('/text');
  });
});
