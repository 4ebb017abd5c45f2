import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { type AgentCard, type Message, Role, type SendMessageRequest } from '@a2a-js/sdk';
import { ClientFactory, JsonRpcTransportFactory } from '@a2a-js/sdk/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, tempDir } from './run-cli.js';
import { call, startUp, type UpProcess } from './up-process.js';

/** A user message with one data part, as a remote A2A client sends it. */
function request(
  data: unknown,
  metadata: Record<string, unknown>,
  messageId = randomUUID(),
): SendMessageRequest {
  return {
    tenant: '',
    message: {
      messageId,
      contextId: '',
      taskId: '',
      role: Role.ROLE_USER,
      parts: [
        {
          content: { $case: 'data', value: data },
          metadata: undefined,
          filename: '',
          mediaType: 'application/json',
        },
      ],
      metadata,
      extensions: [],
      referenceTaskIds: [],
    },
    configuration: {
      acceptedOutputModes: ['application/json'],
      taskPushNotificationConfig: undefined,
      returnImmediately: false,
    },
    metadata: undefined,
  } as SendMessageRequest;
}

describe('the mesh as A2A agents: each ingress served to remote A2A clients through the gate', () => {
  let up: UpProcess;
  let card: AgentCard;
  const cardUrl = () => `${up.api}/a2a/inbox/.well-known/agent-card.json`;
  const client = (token: string) =>
    new ClientFactory({
      transports: [
        new JsonRpcTransportFactory({
          fetchImpl: (input, init) =>
            fetch(input, {
              ...init,
              headers: { ...(init?.headers as object), authorization: `Bearer ${token}` },
            }),
        }),
      ],
    }).createFromAgentCard(card);
  const verdictOf = (result: unknown) => {
    const part = (result as Message).parts[0]?.content;
    return part?.$case === 'data'
      ? (part.value as { id: string; decision: string; reason: string })
      : undefined;
  };

  beforeAll(async () => {
    up = await startUp([
      join(REPO, 'examples', 'retention', 'mesh.yaml'),
      '--data',
      join(tempDir('a2a-serve'), 'data'),
    ]);
    const res = await fetch(cardUrl());
    expect(res.status).toBe(200);
    card = (await res.json()) as AgentCard;
  });
  afterAll(async () => {
    if (up !== undefined) expect(await up.stop()).toBe(0);
  });

  it('publishes a card per ingress, with a skill per type it may send', () => {
    expect(card).toMatchObject({ name: 'retention/inbox' });
    expect((card as unknown as { skills: { id: string }[] }).skills.map((s) => s.id)).toEqual([
      'ticket.opened.v1',
    ]);
  });

  it('admits a message an A2A client sends, names the client, and catches the same message twice', async () => {
    const sdk = await client(up.token!);
    const ticket = { subject: 'Help', text: 'My invoice is wrong', from: 'ada@example.com' };
    const messageId = randomUUID();
    const sent = verdictOf(
      await sdk.sendMessage(
        request(ticket, { type: 'ticket.opened.v1', subject: 'account:9001' }, messageId),
      ),
    );
    expect(sent).toMatchObject({ id: messageId, decision: 'deliver', reason: 'gate.admitted' });
    const why = (await call(up, up.token, 'GET', `/messages/${sent!.id}/why`)).body;
    expect(why.chain[0].sentBy).toBe('a2a:admin');
    const again = verdictOf(
      await sdk.sendMessage(
        request(ticket, { type: 'ticket.opened.v1', subject: 'account:9001' }, messageId),
      ),
    );
    expect(again).toMatchObject({ decision: 'deny', reason: 'envelope.duplicate_id' });
  });

  it('records what breaks the contract, and refuses callers without a pilot token', async () => {
    const sdk = await client(up.token!);
    const bad = verdictOf(await sdk.sendMessage(request({ nope: 1 }, { subject: 'account:9002' })));
    expect(bad).toMatchObject({ decision: 'quarantine' });
    const anonymous = await fetch(`${up.api}/a2a/inbox`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: {} }),
    });
    expect(anonymous.status).toBe(401);
    expect((await fetch(`${up.api}/a2a/nowhere/.well-known/agent-card.json`)).status).toBe(404);
  });
});
