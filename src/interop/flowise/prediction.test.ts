import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../runtime/index.js';
import { predictionBody, readPrediction } from './transport.js';

const where = { who: 'agent triage', url: 'http://127.0.0.1:3000/api/v1/prediction/x' };
const answer = (text: string, type = 'application/json', status = 200) => ({ status, type, text });
const msg = { correlationid: 'case-1' } as Envelope;

describe('a Flowise prediction', () => {
  it.each([
    ['text only', '{"text":"hi"}', { text: 'hi' }],
    ['structured output', '{"text":"hi","json":{"a":1}}', { text: 'hi', json: { a: 1 } }],
    ['JSON written as text', '{"text":"[1,2]"}', { text: '[1,2]', json: [1, 2] }],
    ['a number as text is not json', '{"text":"42"}', { text: '42' }],
    ['a number a Custom Function returned', '{"text":42}', { text: '42' }],
    [
      'an agentflow object, as pretty text',
      '{"text":"{\\n  \\"label\\": \\"bug\\"\\n}"}',
      { text: '{\n  "label": "bug"\n}', json: { label: 'bug' } },
    ],
  ])('reads %s', (_, body, expected) => {
    expect(readPrediction(answer(body), where)).toEqual({
      ...expected,
      status: 200,
      answer: JSON.parse(body),
    });
  });

  it.each([
    ['garbage', answer('{"text": ')],
    ['HTML', answer('<h1>login</h1>', 'text/html')],
    ['a list', answer('[1]')],
    // JSON.parse reads 200,000 levels; JSON.stringify runs out of stack on them.
    ['a text nested too deep to write', answer(`{"text":${'['.repeat(200_000)}${']'.repeat(200_000)}}`)],
  ])('refuses %s as MW_INTEROP_BAD_REPLY', (_, a) => {
    expect(readPrediction(a, where)).toMatchObject({ code: 'MW_INTEROP_BAD_REPLY' });
  });

  it('reads nothing from an empty answer', () => {
    expect(readPrediction(answer('', '', 204), where)).toBeUndefined();
  });

  it.each([
    [
      { question: 'q' },
      { question: 'q', streaming: false, chatId: 'case-1', overrideConfig: { sessionId: 'case-1' } },
    ],
    [
      { question: 'q', chatId: 'c', overrideConfig: { sessionId: 's', temperature: 0 } },
      { question: 'q', streaming: false, chatId: 'c', overrideConfig: { sessionId: 's', temperature: 0 } },
    ],
    [
      { form: { ticket: 't' } },
      { form: { ticket: 't' }, streaming: false, chatId: 'case-1', overrideConfig: { sessionId: 'case-1' } },
    ],
  ])('sends %j as %j', (mapped, body) => {
    expect(predictionBody(mapped, msg)).toEqual({ ok: true, body });
  });

  it.each([
    ['q', ''],
    [{ question: 'q', overrideConfig: 'x' }, '/overrideConfig'],
    [{ overrideConfig: {} }, '/question'],
    [{ question: '  ' }, '/question'],
    [{ question: 7 }, '/question'],
  ])('refuses to send %j (at %s)', (mapped, pointer) => {
    expect(predictionBody(mapped, msg)).toMatchObject({ ok: false, pointer });
  });
});
