import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { compileMapping, type MappingIssue, REPLY_NAMES, REQUEST_NAMES } from './mapping.js';
import { JSONATA_FUNCTIONS } from './mapping-names.js';

function issuesOf(template: unknown, names = REPLY_NAMES): readonly MappingIssue[] {
  const m = compileMapping(template, names);
  return 'issues' in m ? m.issues : [];
}

describe('mapping: $ names, and the names of the other side of the call', () => {
  it('knows every function of the installed jsonata, and no other', () => {
    const source = readFileSync(createRequire(import.meta.url).resolve('jsonata'), 'utf8');
    const bound = [...source.matchAll(/(?:staticFrame|environment)\.bind\('(\w+)'/g)].map((m) => m[1]);
    expect([...new Set(bound)].sort()).toEqual([...JSONATA_FUNCTIONS].sort());
  });

  it.each([
    ['a root name written with $', { a: '{{ $json.x }}' }, REPLY_NAMES, '/a', 3, 'without $'],
    ['a root name of a request', { a: '{{ $data }}' }, REQUEST_NAMES, '/a', 3, 'without $'],
    ['a misspelt function', { a: '{{ $nubmer(text) }}' }, REPLY_NAMES, '/a', 3, '$number'],
    ['a misspelt variable', { a: '{{ ($total := 1; $totl) }}' }, REPLY_NAMES, '/a', 17, '$total'],
    ['near a root name', { a: '{{ $jsn }}' }, REPLY_NAMES, '/a', 3, 'json'],
    ['far from every name', { a: 'x {{ $zzzzzz }}' }, REPLY_NAMES, '/a', 5, 'does not bind'],
    ['a function passed as a value', { a: '{{ $map([1], $nope) }}' }, REPLY_NAMES, '/a', 13, '$nope'],
    [
      "the answer's name in a request",
      { a: '{{ $json.subject }}' },
      REQUEST_NAMES,
      '/a',
      3,
      'content is data',
    ],
    ["the message's name in a reply", { a: '{{ $data.x }}' }, REPLY_NAMES, '/a', 3, 'message.data'],
    ["the answer's field in a request", { a: '{{ json.x }}' }, REQUEST_NAMES, '/a', 3, 'read in a reply'],
    ["the message's field in a reply", { a: '{{ subject }}' }, REPLY_NAMES, '/a', 3, 'message.subject'],
  ])('refuses an unknown $ name: %s', (_name, template, names, pointer, offset, hint) => {
    const issues = issuesOf(template, names);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ pointer, offset });
    expect(issues[0]?.problem).toContain(hint);
  });

  it.each([
    ['the context', '{{ $.json }}'],
    ['the root', '{{ $$.json }}'],
    ['a function', '{{ $number(text) }}'],
    ['one of ours', '{{ $distinct($pad("a", 3)) }}'],
    ['a bound name', '{{ ($x := json; $x.label) }}'],
    ['a lambda parameter', '{{ $map(json.items, function($v, $i){ $v.n + $i }) }}'],
    ['a bound function applied', '{{ ($f := function($s){ $uppercase($s) }; text ~> $f) }}'],
    ['a focus and an index', '{{ json.items@$it#$pos.($it.n + $pos) }}'],
    ['a partial application', '{{ $map(["a"], $pad(?, 3)) }}'],
  ])('knows %s', (_name, template) => {
    expect(issuesOf(template)).toEqual([]);
  });
});
