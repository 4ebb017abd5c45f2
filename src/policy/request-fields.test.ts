import { describe, expect, it } from 'vitest';
import { BASE, compileLines } from './test-kit.js';

const X = JSON.stringify({ type: 'object', properties: { label: { type: 'string' }, text: {} } });

/** The warnings of a mesh with agent line `line` (after a and b), x.v1's contract `contract`. */
function warningsOf(line: string, contract: string | undefined = X): [string, number, number, string][] {
  const result = compileLines([...BASE.slice(0, 4), line, ...BASE.slice(4)], { 'x.v1': contract });
  expect(result.ok).toBe(true);
  return (result.warnings ?? [])
    .filter((w) => w.code === 'MW_POLICY_REQUEST_FIELD')
    .map((w) => [w.code, w.line, w.col, w.message]);
}

const agent = (request: string) =>
  `  t: { version: 1.0.0, http: { url: "http://h" }, consumes: [x.v1], request: ${request} }`;

describe('a request reading a member the consumed contract does not name', () => {
  it('warns of a misspelt member where it is written, with the nearest name', () => {
    const line = agent("{ label: '{{ data.lable }}' }");
    expect(warningsOf(line)).toEqual([
      [
        'MW_POLICY_REQUEST_FIELD',
        5,
        line.indexOf('lable') + 1,
        expect.stringContaining('did you mean data.label?'),
      ],
    ]);
  });

  it('finds the read inside a larger expression and in text around a site', () => {
    const line = agent("{ q: 'Ticket {{ $uppercase(data.txt) }}' }");
    expect(warningsOf(line).map((w) => w[2])).toEqual([line.indexOf('txt') + 1]);
  });

  it.each([
    ['from the root, $.data', "{ label: '{{ $.data.lable }}' }", 'lable', 'data.label'],
    ['from the root, $$.data', "{ label: '{{ $$.data.lable }}' }", 'lable', 'data.label'],
  ])('warns of a read %s', (_name, request, at, meant) => {
    const line = agent(request);
    expect(warningsOf(line)).toEqual([
      ['MW_POLICY_REQUEST_FIELD', 5, line.indexOf(at) + 1, expect.stringContaining(`did you mean ${meant}?`)],
    ]);
  });

  it.each([
    ['message.data', "{ type: y.v1, data: { t: '{{ message.data.txet }}' } }"],
    ['$.message.data, in when', '{ when: \'{{ $.message.data.txet = "a" }}\', type: y.v1, data: 1 }'],
  ])('warns of a reply reading %s', (_name, reply) => {
    const line = `  t: { version: 1.0.0, http: { url: "http://h" }, consumes: [x.v1], emits: [y.v1], reply: ${reply} }`;
    expect(warningsOf(line)).toEqual([
      [
        'MW_POLICY_REQUEST_FIELD',
        5,
        line.indexOf('txet') + 1,
        expect.stringMatching(/reads message\.data\.txet, .*did you mean message\.data\.text\?$/),
      ],
    ]);
  });

  it('says nothing of what the answer holds (json), which no contract describes', () => {
    const line = `  t: { version: 1.0.0, http: { url: "http://h" }, consumes: [x.v1], emits: [y.v1], reply: { type: y.v1, data: { t: '{{ json.lable }}' } } }`;
    expect(warningsOf(line)).toEqual([]);
  });

  it('refuses the read when the contract allows no other member: it can never give anything', () => {
    const closed = JSON.stringify({ type: 'object', properties: { text: {} }, additionalProperties: false });
    const line = agent("{ question: '{{ data.txt }}' }");
    const result = compileLines([...BASE.slice(0, 4), line, ...BASE.slice(4)], { 'x.v1': closed });
    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.issues.map((i) => [i.code, i.line, i.col])).toEqual([
      ['MW_POLICY_REQUEST_FIELD', 5, line.indexOf('txt') + 1],
    ]);
  });

  it.each([
    ['members the contract names', "{ label: '{{ data.label }}', t: '{{ $string(data.text) }}' }", X],
    ['a contract that names no members', "{ label: '{{ data.lable }}' }", '{ "type": "object" }'],
    ['the whole content', "'{{ data }}'", X],
    ['a member of the item at hand ($ inside a step)', "{ l: '{{ data.label[$.data.lable] }}' }", X],
    ['a member of the item at hand (inside a filter)', "{ l: '{{ data.label[data.lable] }}' }", X],
  ])('says nothing of %s', (_name, request, contract) => {
    expect(warningsOf(agent(request), contract)).toEqual([]);
  });
});
