import { describe, expect, it } from 'vitest';
import { parseMesh } from './source.js';

// A mesh file nested thousands of levels deep: a typed issue at its line, never the parser's
// "Maximum call stack size exceeded".

const parse = (text: string) => parseMesh({ file: 'c.yaml', path: '/tmp/c.yaml', text });
const lines = (n: number) => Array.from({ length: n }, (_, i) => `${' '.repeat(i)}k:`).join('\n');

describe('parseMesh on deep nesting', () => {
  // Past the parser or not, the place is where the nesting passes 64 levels (the file is level 1):
  // the 64th bracket (line 2, column 67), the 65th map (line 66, column 65).
  it.each([
    ['flow brackets past the parser', `mesh: x\na: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`, [2, 67]],
    [
      'flow brackets that exhaust the composer',
      `mesh: x\na: ${'['.repeat(1_000)}${']'.repeat(1_000)}\n`,
      [2, 67],
    ],
    ['indentation past the parser', `mesh: x\n${lines(5000)}\n`, [66, 65]],
    ['indentation that exhausts the composer', `mesh: x\n${lines(1000)}\n`, [66, 65]],
    ['flow brackets the parser takes', `mesh: x\na: ${'['.repeat(100)}${']'.repeat(100)}\n`, [2, 67]],
    ['indentation the parser takes', `mesh: x\n${lines(100)}\n`, [66, 65]],
  ])('%s: MW_POLICY_TOO_DEEP, once, where it passes the limit', (_name, text, [line, col]) => {
    const { issues, value } = parse(text);
    expect(issues.map((i) => i.code)).toEqual(['MW_POLICY_TOO_DEEP']);
    expect(issues[0]).toMatchObject({ line, col });
    expect(value).toBeNull();
  });

  it('takes nesting a mesh file may need', () => {
    expect(parse(`mesh: x\na: ${'['.repeat(30)}${']'.repeat(30)}\n`).issues).toEqual([]);
  });
});
