import { describe, expect, it } from 'vitest';
import { parseMesh } from './source.js';

// A mesh file nested thousands of levels deep: a typed issue at its line, never the parser's
// "Maximum call stack size exceeded".

const parse = (text: string) => parseMesh({ file: 'c.yaml', path: '/tmp/c.yaml', text });
const lines = (n: number) => Array.from({ length: n }, (_, i) => `${' '.repeat(i)}k:`).join('\n');

describe('parseMesh on deep nesting', () => {
  it.each([
    ['flow brackets past the parser', `mesh: x\na: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`, 2],
    ['indentation past the parser', `mesh: x\n${lines(5000)}\n`, undefined],
    ['flow brackets the parser takes', `mesh: x\na: ${'['.repeat(100)}${']'.repeat(100)}\n`, 2],
    ['indentation the parser takes', `mesh: x\n${lines(100)}\n`, undefined],
  ])('%s: MW_POLICY_TOO_DEEP, once, at a line', (_name, text, line) => {
    const { issues, value } = parse(text);
    expect(issues.map((i) => i.code)).toEqual(['MW_POLICY_TOO_DEEP']);
    expect(issues[0]!.line).toBeGreaterThan(1);
    if (line !== undefined) expect(issues[0]!.line).toBe(line);
    expect(value).toBeNull();
  });

  it('takes nesting a mesh file may need', () => {
    expect(parse(`mesh: x\na: ${'['.repeat(30)}${']'.repeat(30)}\n`).issues).toEqual([]);
  });
});
