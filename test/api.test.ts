import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, runCli, tempDir } from './run-cli.js';
import { call, createTokens, startUp, type UpProcess, until } from './up-process.js';

const MESH = join(REPO, 'examples', 'retention', 'mesh.yaml');
const TICKETS = join(REPO, 'examples', 'retention', 'tickets.jsonl');

type Hold = { id: string; subject: string; stage: string; rule: string | null; gated: string };

describe('HTTP API against a real `up` process', () => {
  const data = join(tempDir('api'), 'data');
  let up: UpProcess;
  let admin: string;
  const tokens: Record<string, string> = {};
  const holds = async (): Promise<Hold[]> => (await call(up, admin, 'GET', '/holds')).body.holds;

  beforeAll(async () => {
    up = await startUp([MESH, '--data', data, '--input', TICKETS, '--rate-limit', '60']);
    admin = up.token!;
    Object.assign(
      tokens,
      await createTokens(up, admin, { viewer: 'viewer', pilot: 'pilot', burst: 'viewer' }),
    );
    // The retention run settles: 3316's big credit waits for approval, 8841's loop is frozen.
    await until(async () => (await holds()).some((h) => h.rule === 'big-credit'), 'the big-credit hold');
    await until(async () => (await holds()).some((h) => h.stage === 'loop'), 'the loop hold');
  });

  afterAll(async () => {
    if (up !== undefined) expect(await up.stop()).toBe(0);
  });

  it('serves health without a token, and nothing else', async () => {
    const health = await call(up, undefined, 'GET', '/health');
    expect(health).toMatchObject({ status: 200, body: { ok: true, mesh: 'retention' } });
    const anonymous = await call(up, undefined, 'GET', '/holds');
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.error.code).toBe('MW_API_UNAUTHENTICATED');
    const wrong = await call(up, 'mw_not-a-token', 'GET', '/holds');
    expect(wrong.status).toBe(401);
  });

  it('answers a method that a path does not take with 405 and an Allow header; a path no route has with 404', async () => {
    const send = (method: string, url: string) =>
      fetch(url, { method, headers: { authorization: `Bearer ${tokens.viewer}` } });
    const holdsDeleted = await send('DELETE', `${up.api}/holds`);
    expect(holdsDeleted.status).toBe(405);
    expect(holdsDeleted.headers.get('allow')).toBe('GET, HEAD');
    const body = (await holdsDeleted.json()) as { error: { code: string } };
    expect(body.error.code).toBe('MW_API_METHOD_NOT_ALLOWED');
    // A path with a parameter, under the method it does not take.
    const approveRead = await send('GET', `${up.api}/holds/some-id/approve`);
    expect(approveRead.status).toBe(405);
    expect(approveRead.headers.get('allow')).toBe('POST');
    const root = up.api.slice(0, -'/api/v1'.length);
    // No route has these paths: the console's files (GET only) do not make every path a GET's.
    for (const [method, url] of [
      ['POST', `${up.api}/nowhere`],
      ['POST', `${root}/index.html`],
      ['BREW', `${up.api}/holds`],
    ] as const) {
      const answer = await send(method, url);
      expect(answer.status, `${method} ${url}`).toBe(method === 'BREW' ? 400 : 404);
    }
  });

  it('lets a viewer read but not act', async () => {
    expect((await call(up, tokens.viewer, 'GET', '/breakers')).status).toBe(200);
    const [held] = await holds();
    const denied = await call(up, tokens.viewer, 'POST', `/holds/${held!.id}/approve`, { reason: 'no' });
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe('MW_API_FORBIDDEN');
    const tokenList = await call(up, tokens.pilot, 'GET', '/tokens');
    expect(tokenList.status).toBe(403);
  });

  it('draws the mesh as a graph and counts live rates per edge', async () => {
    const mesh = await call(up, tokens.viewer, 'GET', '/mesh');
    const ids = mesh.body.nodes.map((n: { id: string }) => n.id);
    expect(ids).toEqual(expect.arrayContaining(['ingress:inbox', 'agent:sentiment', 'effect:credit.issue']));
    expect(mesh.body.edges).toContainEqual({
      from: 'agent:discount',
      to: 'effect:credit.issue',
      type: 'credit.issue',
    });
    const stats = await call(up, tokens.viewer, 'GET', '/stats');
    expect(stats.body.counts.messages.admitted).toBeGreaterThan(0);
    expect(stats.body.edges['agent:discount credit.issue'].hold).toBe(1);
  });

  it('answers bad input with a typed 400 naming the field', async () => {
    const [held] = await holds();
    const cases = [
      [{ reason: '' }, '/reason'],
      [{}, '/reason'],
      [{ reason: 'ok', extra: 1 }, '/extra'],
    ] as const;
    for (const [body, pointer] of cases) {
      const bad = await call(up, tokens.pilot, 'POST', `/holds/${held!.id}/approve`, body);
      expect(bad.status).toBe(400);
      expect(bad.body.error).toMatchObject({ code: 'MW_API_BAD_REQUEST', pointer });
    }
    const notJson = await call(up, tokens.pilot, 'POST', '/freeze', '{"subject":');
    expect(notJson.status).toBe(400);
    expect(notJson.body.error.code).toBe('MW_API_BAD_REQUEST');
    const noIngress = await call(up, tokens.pilot, 'POST', '/messages', {
      type: 'credit.issue',
      subject: 'account:1',
      data: {},
    });
    expect(noIngress.body.error).toMatchObject({ code: 'MW_API_BAD_REQUEST', pointer: '/ingress' });
    expect((await call(up, tokens.viewer, 'GET', '/nowhere')).body.error.code).toBe('MW_API_NOT_FOUND');
  });

  it('approves a held credit: it executes, and why names the pilot and the reason', async () => {
    const credit = (await holds()).find((h) => h.rule === 'big-credit')!;
    expect(credit).toMatchObject({ subject: 'account:3316', gated: 'effect' });
    const approved = await call(up, tokens.pilot, 'POST', `/holds/${credit.id}/approve`, {
      reason: 'checked with finance',
    });
    expect(approved).toMatchObject({ status: 200, body: { outcome: 'deliver', by: 'pilot:pilot' } });
    expect((await holds()).some((h) => h.id === credit.id)).toBe(false);
    const again = await call(up, tokens.pilot, 'POST', `/holds/${credit.id}/reject`, { reason: 'twice' });
    // Not held any more; the pilot who came second learns who answered first, how and when.
    expect(again).toMatchObject({ status: 404, body: { error: { code: 'MW_PILOT_NOT_HELD' } } });
    expect(again.body.error.answered).toMatchObject({
      by: 'pilot:pilot',
      outcome: 'deliver',
      at: expect.any(String),
    });
    // An id that was never held says nothing more.
    const never = await call(up, tokens.pilot, 'POST', '/holds/never-held/approve', { reason: 'x' });
    expect(never.body.error).toEqual({ code: 'MW_PILOT_NOT_HELD', message: expect.any(String) });
    const why = await until(async () => {
      const w = (await call(up, tokens.viewer, 'GET', `/messages/${credit.id}/why`)).body;
      return w.chain.at(-1).outcomes.some((o: { kind: string }) => o.kind === 'effect.executed') && w;
    }, 'the approved credit to execute');
    expect(why.chain.at(-1).outcomes).toContainEqual(
      expect.objectContaining({
        kind: 'hold.released',
        agent: 'pilot:pilot',
        reason: 'checked with finance',
      }),
    );
  });

  it('refuses broken Unicode before anything changes', async () => {
    const bad = await call(
      up,
      tokens.pilot,
      'POST',
      '/freeze',
      '{"subject":"account:77","reason":"\\ud800"}',
    );
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'MW_API_BAD_REQUEST', pointer: '/reason' });
    expect((await call(up, tokens.viewer, 'GET', '/breakers')).body.frozen).not.toContain('account:77');
  });

  it('records who sent a message by hand', async () => {
    const sent = await call(up, tokens.pilot, 'POST', '/messages', {
      type: 'ticket.opened.v1',
      subject: 'account:5151',
      data: { subject: 'Hi', text: 'A question', from: 'lee@example.com' },
    });
    const why = (await call(up, tokens.viewer, 'GET', `/messages/${sent.body.id}/why`)).body;
    expect(why.chain[0].sentBy).toBe('pilot:pilot');
  });

  it("continues a caller's W3C trace: the case's messages carry the caller's trace id", async () => {
    const trace = '4bf92f3577b34da6a3ce929d0e0e4736';
    const caller = `00-${trace}-00f067aa0ba902b7-01`;
    const send = (traceparent: string) =>
      fetch(`${up.api}/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens.pilot}`, 'content-type': 'application/json', traceparent },
        body: JSON.stringify({
          type: 'ticket.opened.v1',
          subject: 'account:6161',
          data: { subject: 'Hi', text: 'A question', from: 'kim@example.com' },
        }),
      }).then(async (r) => ({ status: r.status, id: ((await r.json()) as { id: string }).id }));
    const sent = await send(caller);
    const garbled = await send('00-not-a-trace-01');
    expect([sent.status, garbled.status]).toEqual([202, 202]);
    const envelopes = async () =>
      (await runCli(['audit', 'export', '--data', data])).stdout
        .split('\n')
        .filter((line) => line.includes('"kind":"decision"'))
        .map(
          (line) =>
            JSON.parse(line).data.envelope as { id: string; correlationid: string; traceparent: string },
        )
        .filter((e) => e !== undefined);
    // The case reaches its second hop (sentiment's score), which inherits the trace.
    let found: Awaited<ReturnType<typeof envelopes>> = [];
    await until(async () => {
      found = (await envelopes()).filter((e) => e.correlationid === sent.id);
      return found.length >= 2;
    }, 'the case past its first hop');
    expect(found.find((e) => e.id === sent.id)?.traceparent).toBe(caller);
    for (const e of found) expect(e.traceparent.slice(3, 35)).toBe(trace);
    // A malformed traceparent is ignored (W3C): the case gets a trace of its own.
    const own = (await envelopes()).find((e) => e.id === garbled.id)!;
    expect(own.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(own.traceparent.slice(3, 35)).not.toBe(trace);
  });

  it('quarantines a message whose causationid names no effect of its subject, and keeps the claim', async () => {
    const found = (await call(up, tokens.viewer, 'GET', '/search?q=account:1203')).body.results;
    const credit = found.find((r: { type: string }) => r.type === 'credit.issue');
    expect(credit).toBeDefined();
    for (const [subject, causationid] of [
      ['account:5570', credit.id], // another subject's effect
      ['account:1203', '01972b5c-ee00-7000-8000-0000000dead1'], // made up
    ]) {
      const sent = await call(up, tokens.pilot, 'POST', '/messages', {
        type: 'ticket.opened.v1',
        subject,
        data: { subject: 'Re: your credit', text: 'Thanks', from: 'kim@example.com' },
        causationid,
      });
      expect(sent.status).toBe(202);
      expect(sent.body.verdict).toMatchObject({
        decision: 'quarantine',
        reason: 'loop.unverified_causation',
      });
      const why = (await call(up, tokens.viewer, 'GET', `/messages/${sent.body.id}/why`)).body;
      expect(why.chain).toHaveLength(1);
      expect(why.chain[0]).toMatchObject({
        causationid: null,
        linkedTo: null,
        unverifiedCausation: causationid,
      });
    }
  });

  it('gates a message released from a freeze again: counted and budgeted, the freeze lifted for it', async () => {
    await call(up, tokens.pilot, 'POST', '/freeze', { subject: 'account:6060', reason: 'checking' });
    const sent = await call(up, tokens.pilot, 'POST', '/messages', {
      type: 'ticket.opened.v1',
      subject: 'account:6060',
      data: { subject: 'Hi', text: 'Please help', from: 'sam@example.com' },
    });
    expect(sent.body.verdict).toMatchObject({ decision: 'hold', stage: 'breaker' });
    const approved = await call(up, tokens.pilot, 'POST', `/holds/${sent.body.id}/approve`, {
      reason: 'known customer',
    });
    expect(approved.body).toMatchObject({ outcome: 'deliver', verdict: { decision: 'deliver' } });
    // Delivered despite the freeze, which still holds everything else for the subject.
    const why = await until(async () => {
      const w = (await call(up, tokens.viewer, 'GET', `/messages/${sent.body.id}/why`)).body;
      return w.chain[0].outcomes.some((o: { kind: string }) => o.kind === 'delivered') && w;
    }, 'the released message to be delivered');
    expect(why.chain[0].outcomes).toContainEqual(
      expect.objectContaining({ kind: 'hold.released', agent: 'pilot:pilot', outcome: 'deliver' }),
    );
    expect((await call(up, tokens.viewer, 'GET', '/breakers')).body.frozen).toContain('account:6060');
  });

  it('unfreezes the looping account, and freezes and resets with a reason on record', async () => {
    const breakers = (await call(up, tokens.viewer, 'GET', '/breakers')).body;
    expect(breakers.frozen).toContain('account:8841');
    expect(breakers.breakers).toContainEqual(
      expect.objectContaining({ id: 'loop', key: 'account:8841', by: 'loop' }),
    );
    const unfrozen = await call(up, tokens.pilot, 'POST', '/unfreeze', {
      subject: 'account:8841',
      reason: 'CRM contact fixed',
    });
    expect(unfrozen.body).toEqual({ subject: 'account:8841', frozen: false, closed: ['loop'] });
    expect(
      (await call(up, tokens.pilot, 'POST', '/unfreeze', { subject: 'account:8841', reason: 'x' })).status,
    ).toBe(404);

    expect(
      (await call(up, tokens.pilot, 'POST', '/freeze', { subject: 'account:5570', reason: 'fraud check' }))
        .status,
    ).toBe(200);
    const twice = await call(up, tokens.pilot, 'POST', '/freeze', {
      subject: 'account:5570',
      reason: 'again',
    });
    expect(twice.body.error.code).toBe('MW_PILOT_ALREADY_FROZEN');
    expect((await call(up, tokens.viewer, 'GET', '/breakers')).body.frozen).toContain('account:5570');
    const reset = await call(up, tokens.pilot, 'POST', '/breakers/pilot/reset', {
      key: 'account:5570',
      reason: 'cleared',
    });
    expect(reset.body).toEqual({ id: 'pilot', key: 'account:5570', closed: true });
    const none = await call(up, tokens.pilot, 'POST', '/breakers/pilot/reset', {
      key: 'account:5570',
      reason: 'x',
    });
    expect(none.body.error.code).toBe('MW_PILOT_NO_BREAKER');

    const loopHold = (await holds()).find((h) => h.stage === 'loop')!;
    const why = (await call(up, tokens.viewer, 'GET', `/messages/${loopHold.id}/why`)).body;
    expect(why.actions).toContainEqual(
      expect.objectContaining({
        action: 'unfreeze',
        subject: 'account:8841',
        pilot: 'pilot:pilot',
        reason: 'CRM contact fixed',
      }),
    );
  });

  it('quarantines an oversized message sent through the API as evidence, not whole', async () => {
    const sent = await call(up, tokens.pilot, 'POST', '/messages', {
      type: 'ticket.opened.v1',
      subject: 'account:7007',
      data: { subject: 'Big', text: 'x'.repeat(500_000), from: 'max@example.com' },
    });
    expect(sent.status).toBe(202);
    expect(sent.body.verdict.reason).toBe('envelope.too_large');
    const why = (await call(up, tokens.viewer, 'GET', `/messages/${sent.body.id}/why`)).body;
    expect(why.chain[0]).toMatchObject({ reason: 'envelope.too_large', subject: 'account:7007' });
    const exported = await runCli(['audit', 'export', '--data', data]);
    const entry = exported.stdout.split('\n').find((line) => line.includes(sent.body.id))!;
    expect(Buffer.byteLength(entry)).toBeLessThan(8192);
    expect(JSON.parse(entry).data).toMatchObject({ rawBytes: expect.any(Number), sentBy: 'pilot:pilot' });
    expect(JSON.parse(entry).data.rawBytes).toBeGreaterThan(500_000);
  });

  it('sends a message through the gate and streams the decision live', async () => {
    const controller = new AbortController();
    const stream = await fetch(`${up.api}/events`, {
      headers: { authorization: `Bearer ${tokens.viewer}` },
      signal: controller.signal,
    });
    expect(stream.headers.get('content-type')).toContain('text/event-stream');
    const sent = await call(up, tokens.pilot, 'POST', '/messages', {
      type: 'ticket.opened.v1',
      subject: 'account:4242',
      data: { subject: 'Hello', text: 'Where is my invoice?', from: 'kim@example.com' },
    });
    expect(sent.status).toBe(202);
    expect(sent.body.verdict.decision).toBe('deliver');
    const reader = stream.body!.getReader();
    let text = '';
    while (!text.includes(sent.body.id)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    controller.abort();
    const batch = JSON.parse(/event: decisions\ndata: (.*)\n/.exec(text)![1]!);
    expect(batch.events).toContainEqual(
      expect.objectContaining({
        kind: 'decision',
        id: sent.body.id,
        decision: 'deliver',
        from: 'ingress:inbox',
      }),
    );
    expect(batch.counts.deliver).toBeGreaterThan(0);
    const search = await call(up, tokens.viewer, 'GET', '/search?q=account:4242');
    expect(search.body.kind).toBe('subject');
    expect(search.body.results).toContainEqual(expect.objectContaining({ id: sent.body.id }));
  });

  it('reports the ledger intact and verifies it on demand', async () => {
    const status = (await call(up, tokens.viewer, 'GET', '/ledger')).body;
    expect(status.lastVerify).toMatchObject({ ok: true });
    expect(status.head).toMatch(/^sha256:/);
    const verified = await call(up, tokens.pilot, 'POST', '/ledger/verify');
    expect(verified.body.lastVerify).toMatchObject({ ok: true, entries: verified.body.entries });
  });

  it('publishes an OpenAPI document generated from the route schemas', async () => {
    const doc = await call(up, undefined, 'GET', '/openapi.json');
    expect(doc.body.openapi).toBe('3.1.0');
    for (const path of ['/api/v1/holds', '/api/v1/holds/{id}/approve', '/api/v1/freeze', '/api/v1/events']) {
      expect(Object.keys(doc.body.paths)).toContain(path);
    }
    expect(
      doc.body.paths['/api/v1/holds/{id}/approve'].post.requestBody.content['application/json'].schema
        .required,
    ).toEqual(['reason']);
  });
});
