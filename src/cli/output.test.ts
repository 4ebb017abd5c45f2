import { describe, expect, it } from 'vitest';
import { terminalSafe } from './output.js';

describe('terminalSafe', () => {
  it.each([
    [
      'an escape sequence that re-titles and recolours',
      'acct:\u001b]0;hacked\u0007\u001b[31mX',
      'acct:\\x1b]0;hacked\\x07\\x1b[31mX',
    ],
    ['NUL, DEL and a C1 control', 'a\u0000b\u007fc\u009bd', 'a\\x00b\\x7fc\\x9bd'],
    ['a carriage return that would overwrite the line', 'ok\rFAKE', 'ok\\x0dFAKE'],
    ['a right-to-left override that reorders what follows', 'acct:\u202e1488', 'acct:\\u202e1488'],
  ])('shows %s instead of obeying it', (_what, text, shown) => {
    expect(terminalSafe(text)).toBe(shown);
  });

  it('keeps line breaks, tabs and every printable character', () => {
    const text = 'account:8841\tfrozen\nüñïçødé 🙂 « » –';
    expect(terminalSafe(text)).toBe(text);
  });
});
