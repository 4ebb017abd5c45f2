import { describe, expect, it } from 'vitest';
import type { LedgerEntry, Policy } from '../../runtime/index.js';
import { meshTools, toolName, toolResult } from './serve-tools.js';

const policyWith = (ingress: Record<string, string[]>, agents: object[] = []) =>
  ({
    mesh: 'm',
    ingress: new Map(Object.entries(ingress).map(([name, emits]) => [name, { name, emits }])),
    agents: new Map(agents.map((a) => [(a as { name: string }).name, a])),
    contracts: new Map(),
  }) as unknown as Policy;

const entry = (decision: string, reason: string) =>
  ({
    msgId: 'id-1',
    data: { verdict: { decision, stage: 's', reason, detail: 'a sentence' } },
  }) as unknown as LedgerEntry;

describe('toolName', () => {
  it.each([
    ['inbox', 'ticket.opened.v1', 'inbox__ticket_opened_v1'],
    ['web.form', 'lead.new-v2', 'web_form__lead_new-v2'],
  ])('%s + %s → %s', (ingress, type, name) => expect(toolName(ingress, type)).toBe(name));

  it('cuts a long name to 64 characters ending in a hash', () => {
    const name = toolName('i'.repeat(40), `t.${'x'.repeat(40)}`);
    expect(name).toHaveLength(64);
    expect(name).toMatch(/^[A-Za-z0-9_-]+-[0-9a-f]{8}$/);
  });
});

describe('meshTools', () => {
  it('keeps names apart when two pairs would share one, and types data as an object without a contract', () => {
    const tools = meshTools(policyWith({ a: ['x.b_c', 'x_b.c'], b: [] }));
    expect(tools.map((t) => t.name)).toEqual(['a__x_b_c', 'a__x_b_c-2']);
    expect(tools[0]!.inputSchema).toMatchObject({ properties: { data: { type: 'object' } } });
  });

  it('gives each exposed agent a tool per type it takes from its via, addressed to it', () => {
    const agents = [
      { name: 'pub', consumes: ['q.v1', 'r.v1'], expose: { via: 'partners' } },
      { name: 'secret', consumes: ['q.v1'] },
    ];
    const tools = meshTools(policyWith({ partners: ['q.v1'], inbox: ['q.v1'] }, agents));
    expect(tools.map((t) => [t.name, t.ingress, t.target])).toEqual([
      ['partners__q_v1', 'partners', undefined],
      ['inbox__q_v1', 'inbox', undefined],
      ['pub__q_v1', 'partners', 'pub'],
    ]);
  });
});

describe('toolResult', () => {
  const tool = meshTools(policyWith({ inbox: ['ticket.opened.v1'] }))[0]!;
  it.each([
    ['deliver', 'gate.admitted', undefined],
    ['hold', 'approval.required', undefined],
    ['deny', 'rate-limit.exceeded', true],
    ['quarantine', 'contract.invalid_payload', true],
  ])('%s → isError %s', (decision, reason, isError) => {
    const result = toolResult(entry(decision, reason), tool);
    expect(result.isError).toBe(isError);
    expect(result.structuredContent).toMatchObject({ id: 'id-1', decision, reason });
    expect(result.content[0]!.text).toContain('id-1');
  });
});
