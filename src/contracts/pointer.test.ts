import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isJsonPointer, parsePointer, pointerOf } from './pointer.js';

describe('pointerOf / parsePointer', () => {
  it.each([
    [[], ''],
    [['amount'], '/amount'],
    [['items', 0, 'price'], '/items/0/price'],
    [['a/b'], '/a~1b'],
    [['m~n'], '/m~0n'],
    [['~1'], '/~01'],
    [[''], '/'],
  ] as const)('%j ↔ %s', (path, pointer) => {
    expect(pointerOf(path)).toBe(pointer);
    expect(parsePointer(pointer)).toEqual(path.map(String));
  });

  it.each(['amount', '/a~2', '/a~', 'a/b'])('rejects %s', (text) => {
    expect(isJsonPointer(text)).toBe(false);
    expect(() => parsePointer(text)).toThrow(expect.objectContaining({ code: 'MW_CONTRACT_BAD_POINTER' }));
  });

  it('round-trips any path of strings', () => {
    fc.assert(
      fc.property(fc.array(fc.string()), (path) => {
        expect(parsePointer(pointerOf(path))).toEqual(path);
      }),
    );
  });
});
