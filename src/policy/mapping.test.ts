import fc from 'fast-check';
import jsonata from 'jsonata';
import { describe, expect, it } from 'vitest';
import {
  compileMapping,
  holds,
  type Mapping,
  type MappingIssue,
  REPLY_NAMES,
  REQUEST_NAMES,
} from './mapping.js';

function compiled(template: unknown, names = REPLY_NAMES, opts = {}): Mapping {
  const m = compileMapping(template, names, opts);
  if ('issues' in m) throw new Error(JSON.stringify(m.issues));
  return m;
}

function issuesOf(template: unknown, names = REPLY_NAMES): readonly MappingIssue[] {
  const m = compileMapping(template, names);
  return 'issues' in m ? m.issues : [];
}

const reply = {
  text: '{"label":"billing"}',
  json: { label: 'billing', items: [{ n: 1 }, { n: 2 }], escalate: true },
  status: 200,
  message: { id: 'e1', data: { text: 'hi' } },
};

describe('mapping: evaluation', () => {
  it.each([
    ['a lone site takes the value', '{{ json.items }}', [{ n: 1 }, { n: 2 }]],
    ['spaces around a lone site', '  {{ status }} ', 200],
    [
      'interpolation renders strings as is and others as JSON',
      'got {{ json.label }} ({{ status }})',
      'got billing (200)',
    ],
    ['an object site in text is JSON text', 'x={{ json.items[0] }}', 'x={"n":1}'],
    ['an object constructor with braces', '{{ {"a": {"b": json.label}} }}', { a: { b: 'billing' } }],
    ['a comparison', '{{ json.escalate = true }}', true],
    ['a literal', 42, 42],
    ['a plain string', 'hello', 'hello'],
    [
      'an object template',
      { label: '{{ json.label }}', reason: '{{ text }}', fixed: [1, '{{ status }}'] },
      { label: 'billing', reason: '{"label":"billing"}', fixed: [1, 200] },
    ],
    ['a member that gives nothing is omitted', { a: '{{ json.missing }}', b: 1 }, { b: 1 }],
    ['a sequence becomes a list', '{{ json.items.n }}', [1, 2]],
    ['a lambda in a block', '{{ ($f := function($x){ $x * 2 }; $f(status)) }}', 400],
  ])('%s', async (_name, template, expected) => {
    expect(await compiled(template).evaluate(reply)).toEqual({ ok: true, value: expected });
  });

  it.each([
    ['nothing at the top', '{{ json.missing }}', '', 'nothing'],
    ['nothing inside text', { a: 'x {{ json.missing }}' }, '/a', 'nothing'],
    ['a function', { f: '{{ function($x){ $x } }}' }, '/f', 'not-json'],
    ['infinity', { n: '{{ 1 / 0 }}' }, '/n', 'not-json'],
    ['a runtime type error', { n: '{{ json.label + 1 }}' }, '/n', 'error'],
  ])('fails with a pointer: %s', async (_name, template, pointer, kind) => {
    expect(await compiled(template).evaluate(reply)).toMatchObject({ ok: false, pointer, kind });
  });

  it('keeps a __proto__ member as a member, from the template and from the answer', async () => {
    const template = JSON.parse('{"__proto__": {"a": 1}, "b": "{{ json }}"}') as unknown;
    const json = JSON.parse('{"__proto__": {"x": 2}}') as unknown;
    const out = await compiled(template).evaluate({ json });
    expect(out.ok && JSON.stringify(out.value)).toBe('{"__proto__":{"a":1},"b":{"__proto__":{"x":2}}}');
  });

  it('nothing at the top is a value when optional (a when)', async () => {
    const m = compiled('{{ json.missing }}', REPLY_NAMES, { optional: true });
    expect(await m.evaluate(reply)).toEqual({ ok: true, value: undefined });
  });

  it('infinite recursion is a typed failure, not a hang or a crash', async () => {
    const m = compiled({ x: '{{ ($f := function($x){ $f($x) }; $f(1)) }}' });
    expect(await m.evaluate(reply)).toMatchObject({ ok: false, pointer: '/x', kind: 'steps' });
  });

  it('deep non-tail recursion is stopped by the depth bound', async () => {
    const m = compiled('{{ ($f := function($x){ 1 + $f($x) }; $f(1)) }}', REPLY_NAMES, {
      maxSteps: 10_000_000,
    });
    expect(await m.evaluate(reply)).toMatchObject({ ok: false, kind: 'depth' });
  });

  it.each([
    ['string doubling', '{{ $reduce([1..40], function($a, $b){ $a & $a }, "xx") }}'],
    ['a wide $pad', '{{ $pad("x", 100000000) }}'],
    ['a long range', '{{ [1..5000000] }}'],
  ])('bounds the size: %s', async (_name, template) => {
    expect(await compiled(template, REPLY_NAMES, { maxSteps: 10_000_000 }).evaluate(reply)).toMatchObject({
      ok: false,
      kind: 'size',
    });
  });

  it('counts the JSON text as it is written: an answer under 1 MiB of many small members maps whole', async () => {
    const json = Object.fromEntries(Array.from({ length: 98_000 }, (_, i) => [i.toString(36), 0]));
    expect(JSON.stringify(json).length).toBeLessThan(1 << 20);
    const result = await compiled('{{ json }}', REPLY_NAMES).evaluate({ json });
    expect(result).toMatchObject({ ok: true });
  });

  it('bounds the whole result, not only each site: at the site that passes the bound', async () => {
    const big = '{{ $pad("", 600000, "a") }}';
    const m = compiled({ a: big, b: big });
    expect(await m.evaluate(reply)).toMatchObject({ ok: false, pointer: '/b', kind: 'size' });
  });

  it('thousands of sites each under the bound fail at the first past it, in bounded memory', async () => {
    const template = Object.fromEntries(
      Array.from({ length: 3000 }, (_, i) => [`k${i}`, "{{ $pad('', 1000000) }}"]),
    );
    const m = compiled(template, REQUEST_NAMES, { maxSites: 10_000 });
    const before = process.memoryUsage().heapUsed;
    expect(await m.evaluate({ data: 'x' })).toMatchObject({ ok: false, pointer: '/k1', kind: 'size' });
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(200 * 2 ** 20);
  });

  it.each([
    ['making long strings', "{{ $length($pad('', 1000000)) }}", {}],
    ['reading a long answer', '{{ $length(text) }}', { text: 'x'.repeat(1_000_000) }],
  ])('long strings count into one step budget for all sites: %s', async (_name, site, context) => {
    const template = Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`k${i}`, site]));
    const m = compiled(template, REPLY_NAMES, { maxSites: 10_000 });
    expect(await m.evaluate(context)).toMatchObject({ ok: false, kind: 'steps' });
  });

  it.each([
    ['$pad', '{{ $count($map([1..1000], function($i){ $pad("", 1000000) })) }}'],
    ['$pad called by $map', '{{ $count($map($split($pad("", 1000, "a"), ""), $pad(?, 1000000))) }}'],
    ['reading', '{{ $count($map([1..10000], function($i){ $contains(text, "y") })) }}'],
    ['a list made by a call', '{{ $count($split(text, "")) }}'],
  ])('long strings in a loop count too (%s)', async (_name, template) => {
    const m = compiled({ n: template });
    expect(await m.evaluate({ text: 'x'.repeat(1_000_000) })).toMatchObject({
      ok: false,
      pointer: '/n',
      kind: 'steps',
    });
  });

  it('lets the event loop turn during a long evaluation', async () => {
    const template = Array.from({ length: 500 }, () => '{{ $sum([1..50]) }}');
    let turned = false;
    setImmediate(() => {
      turned = true;
    });
    const out = await compiled(template).evaluate(reply);
    expect(out.ok).toBe(true);
    expect(turned).toBe(true);
  });

  it.each([
    ['a😀bc', 1, undefined],
    ['a😀bc', 1, 1],
    ['a😀bc', -2, undefined],
    ['a😀bc', -9, 2],
    ['hello', 2, 0],
    ['hello', -3, 2],
    ['hello', 1.7, 2.2],
    ['hello', 9, undefined],
  ])('$substring(%j, %s, %s) and $length are JSONata’s', async (text, start, count) => {
    const args = count === undefined ? `text, ${start}` : `text, ${start}, ${count}`;
    const expr = `[$substring(${args}), $length(text)]`;
    const expected = await jsonata(expr).evaluate({ text });
    expect(await compiled(`{{ ${expr} }}`).evaluate({ text })).toEqual({ ok: true, value: expected });
  });

  it.each([
    ['$number', '{{ $number(text) }}'],
    ['$toMillis', '{{ $toMillis(text) }}'],
    ['$error', '{{ $error(text) }}'],
  ])('keeps the problem short when JSONata quotes a huge value (%s)', async (_name, template) => {
    const out = await compiled({ a: template }).evaluate({ text: 'x'.repeat(100_000) });
    expect(out).toMatchObject({ ok: false, pointer: '/a', kind: 'error' });
    expect((out as { problem: string }).problem.length).toBeLessThan(400);
  });

  it('the step budget is per evaluation: the same mapping evaluates again', async () => {
    const m = compiled('{{ $sum([1..1000]) }}', REPLY_NAMES, { maxSteps: 2_000 });
    for (let i = 0; i < 3; i++) expect(await m.evaluate(reply)).toEqual({ ok: true, value: 500500 });
  });

  it('a regex that would backtrack for ages runs in linear time', async () => {
    const m = compiled('{{ $contains(text, /(a+)+$/) }}');
    expect(await m.evaluate({ text: `${'a'.repeat(5_000)}b` })).toEqual({ ok: true, value: false });
  });

  it('extracts with a regex', async () => {
    const m = compiled('{{ $match(text, /acct-(\\d+)/).groups[0] }}');
    expect(await m.evaluate({ text: 'see acct-8841 now' })).toEqual({ ok: true, value: '8841' });
  });

  it.each([
    ['passed through', '{{ json }}'],
    ['searched with **', '{{ json.**.x }}'],
  ])('a deeply nested answer %s fails, and does not throw', async (_name, template) => {
    const json = JSON.parse(`${'['.repeat(200_000)}${']'.repeat(200_000)}`) as unknown;
    expect(await compiled(template).evaluate({ json })).toMatchObject({ ok: false });
  });

  it('evaluations at once keep their own budgets', async () => {
    const loop = compiled('{{ ($f := function($x){ $f($x) }; $f(1)) }}');
    const sum = compiled('{{ $sum([1..100]) }}');
    const [a, b] = await Promise.all([loop.evaluate(reply), sum.evaluate(reply)]);
    expect(a).toMatchObject({ ok: false, kind: 'steps' });
    expect(b).toEqual({ ok: true, value: 5050 });
  });

  it('a request mapping reads the envelope', async () => {
    const m = compiled(
      { question: '{{ data.text }}', overrideConfig: { sessionId: '{{ correlationid }}' } },
      REQUEST_NAMES,
    );
    expect(await m.evaluate({ data: { text: 'hello' }, correlationid: 'c1' })).toEqual({
      ok: true,
      value: { question: 'hello', overrideConfig: { sessionId: 'c1' } },
    });
  });

  it('a template without {{ evaluates to itself', async () => {
    const json = fc.jsonValue().filter((v) => !JSON.stringify(v).includes('{{'));
    await fc.assert(
      fc.asyncProperty(json, async (value) => {
        const plain = JSON.parse(JSON.stringify(value)) as unknown;
        expect(await compiled(plain).evaluate(reply)).toEqual({ ok: true, value: plain });
      }),
      { numRuns: 200 },
    );
  });
});

describe('mapping: compile issues', () => {
  it.each([
    ['an unknown field, with a hint', { data: { label: '{{ jsn.label }}' } }, '/data/label', 3],
    ['an unknown field inside text', 'x {{ json.a }} {{ txt }}', '', 18],
    ['a syntax error', { a: '{{ json.label ) }}' }, '/a', 14],
    ['an unclosed site', { a: 'x {{ json' }, '/a', 2],
    ['an empty site', { a: '{{ }}' }, '/a', 0],
    ['$now', { a: '{{ $now() }}' }, '/a', 3],
    ['$random passed as a value', { a: '{{ $map([1], $random) }}' }, '/a', 13],
    ['$eval', { a: '{{ $eval("1") }}' }, '/a', 3],
    ['$millis', { a: '{{ $millis() }}' }, '/a', 3],
    ['$shuffle', { a: '{{ $shuffle([1, 2]) }}' }, '/a', 3],
    ['a back-reference', { a: '{{ $match(text, /(a)\\1/) }}' }, '/a', 16],
  ])('%s', (_name, template, pointer, offset) => {
    const issues = issuesOf(template);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ pointer, offset });
  });

  it('suggests the nearest name', () => {
    expect(issuesOf('{{ jsn }}')[0]?.problem).toContain('json');
  });

  it.each([
    ['a name inside a filter', '{{ json.items[n > 1] }}'],
    ['a later step', '{{ message.data.text }}'],
    ['a name inside a lambda', '{{ $map(json.items, function($v){ $v.n }) }}'],
    ['a variable', '{{ ($x := json; $x.label) }}'],
  ])('%s is not a root name', (_name, template) => {
    expect(issuesOf(template)).toEqual([]);
  });

  it('refuses a template with more sites than the bound', () => {
    const template = Array.from({ length: 1001 }, () => '{{ status }}');
    expect(issuesOf(template)).toMatchObject([{ pointer: '' }]);
    expect(issuesOf(template.slice(1))).toEqual([]);
  });

  it('reports every mistake, not only the first', () => {
    expect(issuesOf({ a: '{{ foo }}', b: '{{ $now() }}', c: 'ok' }).map((i) => i.pointer)).toEqual([
      '/a',
      '/b',
    ]);
  });

  it('escapes pointer tokens', () => {
    expect(issuesOf({ 'a/b': '{{ nope }}' })[0]?.pointer).toBe('/a~1b');
  });
});

describe('mapping: when holds', () => {
  it.each([
    [undefined, false],
    [null, false],
    [false, false],
    [0, false],
    ['', false],
    [{}, false],
    [[], false],
    [[0, ''], false],
    [true, true],
    [1, true],
    ['no', true],
    [{ a: 0 }, true],
    [[0, 1], true],
  ])('%j holds: %s', async (value, expected) => {
    expect(holds(value)).toBe(expected);
    // The same as JSONata's own $boolean (which gives nothing for nothing).
    if (value === undefined) return;
    const m = compiled('{{ $boolean(v) }}', ['v'], { optional: true });
    expect(await m.evaluate({ v: value })).toEqual({ ok: true, value: expected });
  });
});
