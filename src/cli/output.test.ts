import { describe, expect, it } from 'vitest';
import { headsText, terminalSafe } from './output.js';

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

describe('headsText', () => {
  it('names one chain by its head, several by partition, and an empty ledger as empty', () => {
    expect(headsText([{ partition: 0, head: 'sha256:a' }])).toBe('head sha256:a');
    expect(
      headsText([
        { partition: 0, head: 'sha256:a' },
        { partition: 1, head: 'sha256:b' },
      ]),
    ).toBe('heads 0 sha256:a · 1 sha256:b');
    expect(headsText([])).toBe('head (empty)');
  });
});
