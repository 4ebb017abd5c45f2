import { describe, expect, it } from 'vitest';
import type { JsonValue } from '../envelope/index.js';
import {
  ECHO_MAX_FINGERPRINTS,
  echoFingerprints,
  isReplyToken,
  matchEcho,
  normalizeEchoText,
} from './echo.js';
import type { EchoMark } from './types.js';

const NOW = 1_750_000_000_000;
const HOUR = 3_600_000;
const BODY = 'We have credited your account with 25 EUR. Sorry for the trouble!';

describe('echoFingerprints', () => {
  it.each([
    { raw: '  Hello   World\n again  ', norm: 'hello world again' },
    { raw: 'Re: Your credit', norm: 'your credit' },
    { raw: 'RE: fwd: Fw:  Your credit', norm: 'your credit' },
    { raw: 'Regarding your credit', norm: 'regarding your credit' },
  ])('normalizes "$raw"', ({ raw, norm }) => {
    expect(normalizeEchoText(raw)).toBe(norm);
  });

  it.each<{ name: string; data: JsonValue; count: number }>([
    { name: 'short strings are ignored', data: { a: 'thank you', b: 15, c: true }, count: 0 },
    { name: 'a long string', data: { body: BODY }, count: 1 },
    { name: 'nested in arrays and objects', data: { a: [{ b: BODY }, `x ${BODY}`] }, count: 2 },
    { name: 'duplicates count once', data: [BODY, BODY.toUpperCase(), `Re: ${BODY}`], count: 1 },
    { name: 'a bare string', data: BODY, count: 1 },
    {
      name: 'at most 8',
      data: Array.from({ length: 20 }, (_, i) => `${BODY} #${i}`),
      count: ECHO_MAX_FINGERPRINTS,
    },
    { name: 'nothing in null', data: null, count: 0 },
  ])('$name → $count', ({ data, count }) => {
    const fps = echoFingerprints(data);
    expect(fps).toHaveLength(count);
    for (const fp of fps) expect(fp).toMatch(/^[0-9a-f]{16}$/);
  });

  it('matches an email and the ticket it became', () => {
    const sent = echoFingerprints({ to: 'a@example.com', body: BODY });
    const back = echoFingerprints({ text: `RE:   ${BODY.replace(/ /g, '\n ')}`, channel: 'email' });
    expect(back.some((fp) => sent.includes(fp))).toBe(true);
  });

  it('is deterministic and skips object keys', () => {
    expect(echoFingerprints({ [BODY]: 1 })).toEqual([]);
    expect(echoFingerprints({ body: BODY })).toEqual(echoFingerprints([BODY]));
  });
});

describe('matchEcho', () => {
  const [fp] = echoFingerprints(BODY);
  const mark = (effectId: string, at: number, fingerprints = [fp!]): EchoMark => ({
    fingerprints,
    effectId,
    correlationid: 'c',
    hop: 3,
    ancestry: '',
    at,
  });
  const marks = [
    mark('old', NOW - 5 * HOUR),
    mark('new', NOW - HOUR),
    mark('other', NOW, ['0000000000000000']),
  ];

  it.each([
    { name: 'newest matching mark', fps: [fp!], window: 24 * HOUR, effectId: 'new' },
    { name: 'within the window only', fps: [fp!], window: 2 * HOUR, effectId: 'new' },
    { name: 'nothing within the window', fps: [fp!], window: HOUR - 1, effectId: undefined },
    { name: 'no shared fingerprint', fps: ['ffffffffffffffff'], window: 24 * HOUR, effectId: undefined },
    { name: 'no fingerprints', fps: [], window: 24 * HOUR, effectId: undefined },
  ])('$name', ({ fps, window, effectId }) => {
    const found = matchEcho(marks, fps, NOW, window);
    expect(found?.mark.effectId).toBe(effectId);
    if (found) expect(found.fingerprint).toBe(fp);
  });
});

describe('isReplyToken', () => {
  it.each([
    { token: 'a1b2c3d4e5f6', ok: true },
    { token: '01972b5c-ee00-7000-8000-000000000001', ok: true },
    { token: 'abcdef', ok: true },
    { token: 'abcde', ok: false },
    { token: 'x'.repeat(201), ok: false },
    { token: 'two words', ok: false },
    { token: 'tok\ud800abc', ok: false },
    { token: 'tab\u0007bell', ok: false },
    { token: 'déploiement-42', ok: true },
    { token: 42, ok: false },
    { token: undefined, ok: false },
  ])('$token → $ok', ({ token, ok }) => {
    expect(isReplyToken(token)).toBe(ok);
  });
});

describe('echoFingerprints minimum length', () => {
  it.each([
    { min: 16, count: 0 },
    { min: 12, count: 1 },
    { min: 4, count: 2 },
  ])('min $min → $count', ({ min, count }) => {
    expect(echoFingerprints({ sha: 'a1b2c3d4e5f6', env: 'prod' }, min)).toHaveLength(count);
  });
});
