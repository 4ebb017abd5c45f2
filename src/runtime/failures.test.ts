import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Envelope } from '../envelope/index.js';
import { scopeKeyFor } from '../gate/index.js';
import type { LedgerEntry } from '../ledger/index.js';
import type { BreakerRule, Policy } from '../policy/index.js';
import { breakerKey, createMemoryState } from '../state/index.js';
import { countFailure, type FailureKind } from './failures.js';
import { whyChain } from './lineage.js';
import { openMesh } from './open.js';
import { type BreakerOpening, ENTRY } from './records.js';
import { summarize } from './summary.js';

const log = pino({ level: 'silent' });
const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
const object = JSON.stringify({ type: 'object' });

/**
 * A deploy mesh in a temp folder: ingress `ci` asks agent `deployer` for a deploy, which requests the
 * effect `deploy.run`; its executor throws while the payload says `fail`, and `deployer` throws when
 * asked to `crash`. `breaker` is the line of the breaker under test.
 */
function writeMesh(breaker: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'meshwarden-failures-'));
  for (const sub of ['contracts', 'agents', 'effects']) mkdirSync(join(dir, sub));
  writeFileSync(
    join(dir, 'mesh.yaml'),
    [
      'mesh: ops',
      'agents:',
      '  deployer: { version: 1.0.0, module: ./agents/deployer.mjs, consumes: [deploy.requested.v1], effects: [deploy.run] }',
      'effects:',
      '  deploy.run: { module: ./effects/deploy.mjs }',
      'ingress:',
      '  ci: { emits: [deploy.requested.v1] }',
      'breakers:',
      `  - ${breaker}`,
    ].join('\n'),
  );
  writeFileSync(join(dir, 'contracts', 'deploy.requested.v1.json'), object);
  writeFileSync(join(dir, 'contracts', 'deploy.run.json'), object);
  writeFileSync(
    join(dir, 'agents', 'deployer.mjs'),
    `export default { handle(msg, ctx) {
       if (msg.data.crash) throw new Error('deployer crashed');
       ctx.effect('deploy.run', msg.data);
     } };`,
  );
  writeFileSync(
    join(dir, 'effects', 'deploy.mjs'),
    `export default { async execute(request) {
       if (request.data.fail) throw new Error('deploy of ' + request.data.version + ' failed');
       if (request.data.broken) throw new Error('bad \\ud800 text ' + 'x'.repeat(5000));
       return { deployed: request.data.version };
     } };`,
  );
  return dir;
}

/** Opens the mesh of `dir` on its data folder with a clock the test moves, retrying twice in all. */
async function open(dir: string, clock: { now: number }) {
  const opened = await openMesh({
    meshFile: join(dir, 'mesh.yaml'),
    dataDir: join(dir, 'data'),
    log,
    clock: () => clock.now,
    retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 2 },
  });
  if (!opened.ok) throw new Error(JSON.stringify(opened));
  return opened.opened;
}

type Opened = Awaited<ReturnType<typeof open>>;

/** One deploy request from ci for `subject`, two minutes after the last; resolves once all it caused settled. */
async function deploy(
  o: Opened,
  clock: { now: number },
  data: Record<string, number | boolean>,
  subject = 'service:api',
) {
  clock.now += 2 * MIN;
  const entry = await o.mesh.inject('ci', { type: 'deploy.requested.v1', subject, data });
  await o.mesh.idle();
  return entry;
}

const reasonOf = (entry: LedgerEntry) => (entry.data as { verdict: { reason: string } }).verdict.reason;
const entriesOf = async (o: Opened, kind: string) =>
  (await Array.fromAsync(o.ledger.scan())).filter((e) => e.kind === kind);
/** The ids of the deploy.run requests, oldest first. */
const requestsOf = async (o: Opened) =>
  (await entriesOf(o, ENTRY.decision))
    .filter((e) => (e.data as { gated: string }).gated === 'effect')
    .map((e) => e.msgId ?? '');

describe('countFailure (pure)', () => {
  const rule = (id: string, over: Partial<BreakerRule>): BreakerRule => ({
    id,
    scope: 'entity',
    count: 'deploy.run',
    failures: { kind: 'failures', worker: 'effect:deploy.run' },
    over: 0,
    windowMs: 10 * MIN,
    action: 'freeze',
    ...over,
  });
  const policy = {
    partitions: 1,
    breakers: [
      rule('tries', {}),
      rule('letters', { failures: { kind: 'deadLetters', worker: 'effect:deploy.run' } }),
      rule('agent', {
        count: 'deployer',
        failures: { kind: 'failures', worker: 'deployer' },
        scope: 'agent',
      }),
      rule('admissions', { failures: undefined }),
    ],
  } as unknown as Policy;
  const request = {
    source: 'mesh://ops/deployer@1.0.0',
    subject: 'service:api',
    type: 'deploy.run',
    id: 'r1',
  } as unknown as Envelope;

  it.each<{ kind: FailureKind; worker: string; opened: string[] }>([
    { kind: 'delivery.failed', worker: 'effect:deploy.run', opened: ['br|tries|service:api'] },
    {
      kind: 'dead-letter',
      worker: 'effect:deploy.run',
      opened: ['br|tries|service:api', 'br|letters|service:api'],
    },
    // An agent's failures are named with its version; the rule names the agent.
    { kind: 'delivery.failed', worker: 'deployer@1.0.0', opened: ['br|agent|deployer'] },
    { kind: 'dead-letter', worker: 'deployer', opened: ['br|agent|deployer'] },
    { kind: 'dead-letter', worker: 'effect:other.run', opened: [] },
  ])('$kind of $worker', ({ kind, worker, opened }) => {
    const counted = countFailure(policy, createMemoryState(), kind, request, worker, T0);
    expect(counted.opened.map((o) => breakerKey(o.rule.id, o.key))).toEqual(opened);
    expect(
      counted.deltas.filter((d) => d.kind === 'breaker-open').map((d) => ('key' in d ? d.key : '')),
    ).toEqual(opened);
  });

  it("opens an agent-scoped breaker past its partition's share of over, an entity-scoped one past over", () => {
    const rules = [
      rule('agent', { failures: { kind: 'failures', worker: 'deployer' }, scope: 'agent', over: 3 }),
      rule('entity', { failures: { kind: 'failures', worker: 'deployer' }, over: 3 }),
    ];
    const split = { partitions: 2, breakers: rules } as unknown as Policy;
    const state = createMemoryState();
    const opened: string[][] = [];
    for (let i = 0; i < 4; i++) {
      const counted = countFailure(split, state, 'delivery.failed', request, 'deployer@1.0.0', T0);
      state.apply(counted.deltas);
      opened.push(counted.opened.map((o) => `${o.rule.id}:${o.count}/${o.over}`));
    }
    // floor(3 / 2) = 1: the agent's breaker opens on the 2nd failure; the entity's on the 4th.
    expect(opened).toEqual([[], ['agent:2/1'], [], ['entity:4/3']]);
  });

  it.each([
    ['entity', 'service:api'],
    ['agent', 'deployer'],
    ['edge', 'deployer->deploy.run'],
    ['mesh', '*'],
  ])('keys scope %s as the gate does', (scope, key) => {
    expect(scopeKeyFor(request, scope)).toBe(key);
  });
});

describe('failure breakers', () => {
  it('freezes a service after 3 failed deploys in 10 minutes, survives a restart, and a reset closes it', async () => {
    const dir = writeMesh(
      '{ id: failing-deploys, scope: entity, when: { deadLetters: deploy.run, over: 2, window: 10m }, action: freeze }',
    );
    const clock = { now: T0 };
    const key = breakerKey('failing-deploys', 'service:api');
    let fourth: LedgerEntry;
    {
      await using o = await open(dir, clock);
      await deploy(o, clock, { version: 1, fail: true });
      await deploy(o, clock, { version: 2, fail: true });
      // Another service's failures count for that service only.
      await deploy(o, clock, { version: 9, fail: true }, 'service:web');
      expect(o.mesh.state.breaker(key)).toBeUndefined();
      await deploy(o, clock, { version: 3, fail: true });
      // Each request failed twice (two tries): dead letters count requests, not tries.
      expect(await entriesOf(o, ENTRY.deliveryFailed)).toHaveLength(4);
      expect(await entriesOf(o, ENTRY.deadLetter)).toHaveLength(4);
      expect(o.mesh.state.breaker(key)).toMatchObject({
        state: 'open',
        action: 'freeze',
        by: 'failing-deploys',
      });
      const summary = summarize(o.mesh.counts(), o.mesh.state, o.ledger, o.mesh.policy);
      expect(summary.frozen).toEqual(['service:api']);

      const [opened, ...more] = await entriesOf(o, ENTRY.breakerOpened);
      expect(more).toHaveLength(0);
      const requests = (await requestsOf(o)).filter((_, i) => i !== 2); // the service:web one left out
      expect(opened).toMatchObject({
        msgId: requests[2],
        subject: 'service:api',
        agent: 'breaker:failing-deploys',
      });
      expect(opened?.data).toMatchObject({
        breaker: 'failing-deploys',
        key: 'service:api',
        counted: 'deadLetters',
        of: 'effect:deploy.run',
        count: 3,
        over: 2,
        windowMs: 10 * MIN,
        failures: requests,
      });

      fourth = await deploy(o, clock, { version: 4 });
      expect(reasonOf(fourth)).toBe('breaker.frozen');
      expect(o.mesh.held().map((h) => h.msgId)).toEqual([fourth.msgId]);
      const why = await whyChain(o.ledger, fourth.msgId ?? '');
      expect(why?.chain.at(-1)).toMatchObject({ rule: 'failing-deploys', reason: 'breaker.frozen' });
      expect(why?.breakers).toEqual([
        expect.objectContaining({
          breaker: 'failing-deploys',
          stopped: fourth.msgId,
          openedBy: requests[2],
          failures: requests,
        }),
      ]);
    }
    // A new process on the same data folder: the breaker is still open, the request still held.
    await using o = await open(dir, clock);
    expect(o.mesh.state.breaker(key)).toMatchObject({ state: 'open', by: 'failing-deploys' });
    expect(o.mesh.held().map((h) => h.msgId)).toEqual([fourth.msgId]);
    expect(reasonOf(await deploy(o, clock, { version: 5 }))).toBe('breaker.frozen');
    expect(reasonOf(await deploy(o, clock, { version: 6 }, 'service:web'))).toBe('gate.admitted');

    const reset = o.mesh.pilot.resetBreaker('failing-deploys', 'service:api', {
      pilot: 'ana',
      reason: 'rolled back',
    });
    if (!(reset instanceof Promise)) throw reset;
    await reset;
    expect(o.mesh.state.breaker(key)).toBeUndefined();
    // Closed, and its count cleared: one more failure does not open it again.
    expect(reasonOf(await deploy(o, clock, { version: 7, fail: true }))).toBe('gate.admitted');
    expect(o.mesh.state.breaker(key)).toBeUndefined();
    expect(await entriesOf(o, ENTRY.effectExecuted)).toHaveLength(1); // version 6, on service:web
    expect((await o.ledger.verify()).ok).toBe(true);
  });

  it('keeps counting across a restart, and names the failures of both processes', async () => {
    const dir = writeMesh(
      '{ id: failing-deploys, scope: entity, when: { deadLetters: deploy.run, over: 2, window: 10m } }',
    );
    const clock = { now: T0 };
    {
      await using o = await open(dir, clock);
      await deploy(o, clock, { version: 1, fail: true });
      await deploy(o, clock, { version: 2, fail: true });
    }
    await using o = await open(dir, clock);
    await deploy(o, clock, { version: 3, fail: true });
    const [opened] = await entriesOf(o, ENTRY.breakerOpened);
    expect((opened?.data as BreakerOpening | undefined)?.failures).toEqual(await requestsOf(o));
  });

  it.each([
    // Two tries a request: `failures` counts each failed try, so the second request's first try opens it.
    {
      name: 'failed tries of an effect',
      when: '{ failures: deploy.run, over: 2, window: 10m }',
      scope: 'entity',
      opensAt: 2,
    },
    {
      name: 'dead letters of an effect',
      when: '{ deadLetters: deploy.run, over: 1, window: 10m }',
      scope: 'entity',
      opensAt: 2,
    },
    {
      name: 'an old failure falls out of the window',
      when: '{ deadLetters: deploy.run, over: 1, window: 1m }',
      scope: 'entity',
      opensAt: 0,
    },
    // A handler that throws; the key of scope agent is the failed message's sender, ingress ci.
    {
      name: 'failed tries of an agent',
      when: '{ failures: deployer, over: 1, window: 10m }',
      scope: 'agent',
      opensAt: 1,
      crash: true,
    },
    {
      name: 'the whole mesh',
      when: '{ failures: deployer, over: 3, window: 10m }',
      scope: 'mesh',
      opensAt: 2,
      crash: true,
    },
  ])('counts $name', async ({ when, scope, opensAt, crash }) => {
    const dir = writeMesh(`{ id: b, scope: ${scope}, when: ${when}, action: deny }`);
    const clock = { now: T0 };
    await using o = await open(dir, clock);
    const key = breakerKey('b', scope === 'entity' ? 'service:api' : scope === 'agent' ? 'ci' : '*');
    const failing: Record<string, boolean> = crash === true ? { crash: true } : { fail: true };
    for (let i = 1; i <= 2; i++) {
      const stopped = opensAt > 0 && i > opensAt;
      expect(reasonOf(await deploy(o, clock, { version: i, ...failing }))).toBe(
        stopped ? 'breaker.open' : 'gate.admitted',
      );
      expect(o.mesh.state.breaker(key) !== undefined).toBe(i >= opensAt && opensAt > 0);
    }
    const third = await deploy(o, clock, { version: 3 });
    expect(reasonOf(third)).toBe(opensAt > 0 ? 'breaker.open' : 'gate.admitted');
    expect(await entriesOf(o, ENTRY.breakerOpened)).toHaveLength(opensAt > 0 ? 1 : 0);
    // why finds the opening at the scope key of the stopped message.
    const why = await whyChain(o.ledger, third.msgId ?? '');
    expect(why?.breakers.map((b) => b.breaker)).toEqual(opensAt > 0 ? ['b'] : []);
  });

  it('records a failure whose error text has a lone surrogate and 5,000 characters: the breaker it opened outlives a restart', async () => {
    const dir = writeMesh(
      '{ id: b, scope: entity, when: { deadLetters: deploy.run, over: 0, window: 10m }, action: freeze }',
    );
    const clock = { now: T0 };
    {
      await using o = await open(dir, clock);
      await deploy(o, clock, { version: 1, broken: true });
      const letters = await entriesOf(o, ENTRY.deadLetter);
      expect(letters).toHaveLength(1);
      const { message } = (letters[0]!.data as { error: { message: string } }).error;
      expect(message.isWellFormed()).toBe(true);
      expect(message.length).toBeLessThanOrEqual(1025);
      expect(await entriesOf(o, ENTRY.breakerOpened)).toHaveLength(1);
    }
    await using reopened = await open(dir, clock);
    expect(reopened.mesh.state.breaker(breakerKey('b', 'service:api'))).toBeDefined();
  });
});
