import { describe, expect, it } from 'vitest';
import { headsText, inlineText, table, terminalSafe } from './output.js';

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

  it('inline, shows line breaks too, and leaves text it already showed as it is', () => {
    const shown = terminalSafe('account:1\nnote: forged\r\u001b[2J', { inline: true });
    expect(shown).toBe('account:1\\x0anote: forged\\x0d\\x1b[2J');
    expect(terminalSafe(shown, { inline: true })).toBe(shown);
    expect(inlineText('account:1\nnote: forged')).toBe('account:1\\x0anote: forged');
  });
});

describe('table', () => {
  it('measures cells as shown, so an escape from outside keeps the columns straight', () => {
    expect(
      table([
        ['a\u001bb', 'x'],
        ['abcdefg', 'y\nz'],
      ]).split('\n'),
    ).toEqual(['a\\x1bb   x', 'abcdefg  y\\x0az']);
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
