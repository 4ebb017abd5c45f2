import { describe, expect, it } from 'vitest';
import { type Credential, urlHoldsSecret, withoutSecret } from './auth.js';

// A key whose URL and JSON spellings differ from it: + / = " and capitals.
const secret = 'Kx+9/"Zq=';
const credential: Credential = { header: 'x-api-key', value: secret, env: 'K', secret };
const lowerHex = (text: string) => text.replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase());

describe('withoutSecret', () => {
  it.each([
    ['as written', secret],
    ['JSON-escaped', JSON.stringify(secret).slice(1, -1)],
    ['JSON-escaped twice', JSON.stringify(JSON.stringify(secret).slice(1, -1)).slice(1, -1)],
    ['URL-encoded', encodeURIComponent(secret)],
    ['URL-encoded in lower-case hex, as .NET writes it', lowerHex(encodeURIComponent(secret))],
    ['URL-encoded twice', encodeURIComponent(encodeURIComponent(secret))],
    ['URL-encoded twice, in lower case', lowerHex(encodeURIComponent(encodeURIComponent(secret)))],
    ['every character percent-encoded', [...secret].map((c) => `%${c.charCodeAt(0).toString(16)}`).join('')],
    ['in capitals', secret.toUpperCase()],
  ])('redacts the key %s', (_, form) => {
    expect(withoutSecret(`before ${form} after`, credential)).toBe('before [redacted: K] after');
  });

  it.each([
    ['a key like most', secret],
    ['a key of escapable characters only', '\\\\"/"/\\"'],
  ])('reads a hostile answer of a million backslashes in one pass, not backtracking: %s', (_, key) => {
    // Unbounded runs made this quadratic in the answer's length (40,000 backslashes took 3 s).
    const text = '\\'.repeat(1 << 20);
    expect(withoutSecret(text, { ...credential, secret: key })).toBe(text);
  });

  it('finds a key with backslashes in a row, escaped', () => {
    const key = 'a\\\\b"c';
    const once = JSON.stringify(key).slice(1, -1);
    const twice = JSON.stringify(once).slice(1, -1);
    for (const form of [key, once, twice])
      expect(withoutSecret(form, { ...credential, secret: key })).toBe('[redacted: K]');
  });

  it('leaves text without the key as it is', () => {
    expect(withoutSecret('Kx 9 Zq %2B', credential)).toBe('Kx 9 Zq %2B');
  });
});

describe('withoutSecret in JSON', () => {
  it.each([
    ['PHP, with / written \\/', JSON.stringify({ k: secret }).replaceAll('/', '\\/')],
    ['Go, with + written \\u002b', JSON.stringify({ k: secret }).replaceAll('+', '\\u002b')],
    [
      '.NET, with capital hex',
      JSON.stringify({ k: secret }).replace('+', '\\u002B').replace('\\"', '\\u0022'),
    ],
    [
      'every character escaped',
      `{"k":"${[...secret].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}"}`,
    ],
    [
      'JSON in a JSON string, PHP-escaped',
      JSON.stringify({ text: JSON.stringify({ k: secret }).replaceAll('/', '\\/') }),
    ],
    ['a member name', JSON.stringify({ [secret]: 1 })],
  ])('redacts the key from %s', (_, text) => {
    const out = withoutSecret(text, credential);
    expect(out).not.toMatch(/Kx|Zq/i);
    expect(out).toContain('[redacted: K]');
  });

  it('keeps an answer without the key as written, escapes and all', () => {
    const text = '{"text": "a\\nb", "n": 1e2}';
    expect(withoutSecret(text, credential)).toBe(text);
  });
});

describe('urlHoldsSecret', () => {
  it.each([
    ['in a host, in lower case', `https://${'AbC123'}.example/`, 'AbC123'],
    ['percent-encoded in lower case', `/x/${lowerHex(encodeURIComponent(secret))}`, secret],
    ['percent-encoded twice', `/x/${encodeURIComponent(encodeURIComponent(secret))}`, secret],
    ['beside a malformed escape', `/${encodeURIComponent(secret)}/%zz`, secret],
    ['with \\ written /', '/a/b/c', 'a\\b\\c'],
  ])('finds the key %s', (_, url, key) => {
    expect(urlHoldsSecret(url, { ...credential, secret: key })).toBe(true);
  });

  it('finds nothing in a URL without it', () => {
    expect(urlHoldsSecret('https://login.example.com/sso?next=%2F', credential)).toBe(false);
  });
});
