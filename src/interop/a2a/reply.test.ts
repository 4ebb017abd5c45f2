import { Message, Task } from '@a2a-js/sdk';
import { describe, expect, it } from 'vitest';
import { readReply } from './reply.js';

const at = { who: 'agent churn', url: 'http://agent/card.json' };
const one = { ...at, emits: ['churn.assessed.v1'] };
const two = { ...at, emits: ['churn.assessed.v1', 'churn.flagged.v1'] };
const message = (parts: unknown[], metadata?: object) =>
  Message.fromJSON({ messageId: 'm1', role: 'ROLE_AGENT', parts, metadata });
const task = (state: string, rest: object = {}) =>
  Task.fromJSON({ id: 't1', contextId: 'c1', status: { state }, ...rest });

describe('readReply', () => {
  it.each([
    ['a data part', message([{ data: { p: 1 } }]), one, [{ type: 'churn.assessed.v1', data: { p: 1 } }]],
    ['a text part', message([{ text: 'hi' }]), one, [{ type: 'churn.assessed.v1', data: { text: 'hi' } }]],
    [
      'a url part',
      message([{ url: 'https://x/y.pdf', mediaType: 'application/pdf' }]),
      one,
      [{ type: 'churn.assessed.v1', data: { url: 'https://x/y.pdf', mediaType: 'application/pdf' } }],
    ],
    [
      'attributes from part metadata',
      message([{ data: 1, metadata: { type: 'churn.flagged.v1', subject: 'account:1', model: 'm' } }]),
      two,
      [{ type: 'churn.flagged.v1', data: 1, subject: 'account:1', model: 'm' }],
    ],
    [
      "the type from the message's metadata",
      message([{ data: 1 }], { type: 'churn.flagged.v1' }),
      two,
      [{ type: 'churn.flagged.v1', data: 1 }],
    ],
    [
      "a completed task's artifacts",
      task('TASK_STATE_COMPLETED', {
        artifacts: [
          { artifactId: 'a', parts: [{ data: 1 }] },
          { artifactId: 'b', parts: [{ data: 2 }], metadata: { type: 'churn.flagged.v1' } },
        ],
      }),
      { ...two, emits: ['churn.assessed.v1'] },
      [
        { type: 'churn.assessed.v1', data: 1 },
        { type: 'churn.flagged.v1', data: 2 },
      ],
    ],
    [
      "a completed task's status message when it has no artifacts",
      task('TASK_STATE_COMPLETED', {
        status: { state: 'TASK_STATE_COMPLETED', message: { parts: [{ text: 'ok' }] } },
      }),
      one,
      [{ type: 'churn.assessed.v1', data: { text: 'ok' } }],
    ],
    ['an empty message', message([]), one, []],
  ])('forwards %s', (_, result, context, events) => {
    expect(readReply(result, context)).toEqual({ ok: true, events });
  });

  it.each([
    [
      'a part naming no type when the agent may emit two',
      message([{ data: 1 }]),
      two,
      '/parts/0/metadata/type',
    ],
    [
      'a type that is not a string',
      message([{ data: 1, metadata: { type: 7 } }]),
      one,
      '/parts/0/metadata/type',
    ],
    [
      'a subject that is not a string',
      message([{ data: 1, metadata: { subject: 7 } }]),
      one,
      '/parts/0/metadata/subject',
    ],
    ['inline bytes', message([{ raw: 'AAEC' }]), one, '/parts/0/raw'],
    ['a part with no content', message([{ metadata: { type: 'x' } }]), one, '/parts/0'],
    ['a message without id', Message.fromJSON({ parts: [] }), one, '/messageId'],
    ['a task still working', task('TASK_STATE_WORKING'), one, '/status/state'],
    [
      'a bad part deep in an artifact',
      task('TASK_STATE_COMPLETED', { artifacts: [{ parts: [{ data: 1 }, { raw: 'AA' }] }] }),
      one,
      '/artifacts/0/parts/1/raw',
    ],
  ])('refuses %s, naming where', (_, result, context, pointer) => {
    const outcome = readReply(result, context);
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.error.code).toBe('MW_INTEROP_A2A_BAD_REPLY');
    expect(outcome.error.location?.pointer).toBe(pointer);
  });

  it.each([
    ['TASK_STATE_FAILED', 'MW_INTEROP_A2A_FAILED', undefined],
    ['TASK_STATE_REJECTED', 'MW_INTEROP_A2A_FAILED', undefined],
    ['TASK_STATE_CANCELED', 'MW_INTEROP_A2A_FAILED', undefined],
    ['TASK_STATE_INPUT_REQUIRED', 'MW_INTEROP_A2A_INPUT_REQUIRED', 't1'],
    ['TASK_STATE_AUTH_REQUIRED', 'MW_INTEROP_A2A_INPUT_REQUIRED', 't1'],
  ])('turns a task in %s into %s', (state, code, waiting) => {
    const outcome = readReply(task(state), one);
    expect(outcome).toMatchObject({ ok: false, error: { code } });
    expect(outcome.ok ? undefined : outcome.waiting).toBe(waiting);
  });
});
