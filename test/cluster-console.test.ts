// The API and the console of one node of a two-node cluster show the whole mesh, and a pilot's
// actions on it reach the node that owns what they name. Real NATS JetStream and PostgreSQL (as the
// machine runs them); the mesh's schema, stream and lease bucket are deleted after.
import { randomBytes } from 'node:crypto';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sayClusterNotes } from '../src/cli/commands/up-serve.js';
import { partitionOf } from '../src/envelope/index.js';
import { TEST_POSTGRES } from '../src/ledger/postgres-test-kit.js';
import { type OpenedMesh, openMesh } from '../src/runtime/index.js';
import { meshToken, streamNameOf } from '../src/runtime/jetstream-names.js';
import { dropLeaseBucket, NATS } from '../src/runtime/lease-test-kit.js';
import { log } from '../src/runtime/test-kit.js';
import { createServer, openTokenStore, type Server } from '../src/server/index.js';
import { type ConsoleBrowser, openBrowser } from './browser.js';
import { REPO, tempDir } from './run-cli.js';
import { call, until } from './up-process.js';

const PARTITIONS = 4;
const BIG_CREDIT_ACCOUNT = 'account:3316';

type Node = {
  readonly name: string;
  readonly opened: OpenedMesh & { close(): Promise<void> };
  readonly server: Server;
  readonly api: string;
  readonly url: string;
  readonly token: string;
};
type Hold = { id: string; subject: string; type: string; rule: string | null; node?: string };
type FeedLine = { kind: string; id: string; subject?: string; node?: string };

describe('a cluster seen from one node (API and console)', () => {
  const dir = tempDir('cluster-console');
  const mesh = `cc-${randomBytes(4).toString('hex')}`;
  const schema = `mw_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Pool({ connectionString: TEST_POSTGRES, max: 1 });
  const nodes: Node[] = [];
  // `here` is the node whose API the pilot uses; `there` owns the partition of the big credit.
  let here: Node;
  let there: Node;
  const feed: FeedLine[] = [];
  const stopFeed = new AbortController();
  const get = async (path: string) => (await call(here, here.token, 'GET', path)).body;
  const holds = async (): Promise<Hold[]> => (await get('/holds')).holds;

  const startNode = async (name: string, meshFile = join(dir, 'mesh.yaml')): Promise<Node> => {
    const location = new URL(TEST_POSTGRES);
    location.searchParams.set('schema', schema);
    const result = await openMesh({
      meshFile,
      dataDir: join(dir, `data-${name}`),
      log,
      ledgerAt: location.href,
      cluster: { servers: NATS, node: name },
    });
    if (!result.ok) throw new Error(JSON.stringify(result));
    const { opened } = result;
    const tokens = await openTokenStore(join(dir, `data-${name}`, 'tokens.json'));
    if (!('create' in tokens)) throw tokens;
    const made = await tokens.create('admin', 'admin');
    if (!('token' in made)) throw made;
    const server = await createServer({
      mesh: opened.mesh,
      ledger: opened.ledger,
      tokens,
      log,
      cluster: opened.control!,
    });
    const url = await server.listen(0, '127.0.0.1');
    const node = { name, opened, server, url, api: `${url}/api/v1`, token: made.token };
    nodes.push(node);
    return node;
  };

  /** A fresh subject whose partition `node` owns. */
  const subjectOf = (node: Node, prefix = 'c') => {
    const theirs = node.opened.mesh.node!.owned();
    let n = 0;
    while (!theirs.includes(partitionOf(`account:${prefix}${n}`, PARTITIONS))) n++;
    return `account:${prefix}${n}`;
  };

  /** Reads the live feed of `node` into `feed` until the tests end. */
  const watchFeed = async (node: Node) => {
    const res = await fetch(`${node.api}/events`, {
      headers: { authorization: `Bearer ${node.token}` },
      signal: stopFeed.signal,
    });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    void (async () => {
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return;
        text += value;
        const blocks = text.split('\n\n');
        text = blocks.pop()!;
        for (const block of blocks) {
          const data = block.split('\n').find((l) => l.startsWith('data: '));
          if (data !== undefined) feed.push(...(JSON.parse(data.slice(6)) as { events: FeedLine[] }).events);
        }
      }
    })();
  };

  beforeAll(async () => {
    cpSync(join(REPO, 'examples', 'retention'), dir, { recursive: true });
    const meshFile = join(dir, 'mesh.yaml');
    const yaml = readFileSync(meshFile, 'utf8').replace(/^mesh: retention$/m, `mesh: ${mesh}`);
    writeFileSync(meshFile, `${yaml}partitions: ${PARTITIONS}\n`);

    const a = await startNode('a');
    await until(async () => a.opened.mesh.node!.owned().length === PARTITIONS, 'a owning every partition');
    const b = await startNode('b');
    // The two share the partitions, two each, once b was handed its share.
    await until(
      async () => {
        const live = await a.opened.control!.nodes();
        return live.length === 2 && live.every((n) => n.owned.length === PARTITIONS / 2);
      },
      'a and b owning two partitions each',
      400,
    );
    const owner = partitionOf(BIG_CREDIT_ACCOUNT, PARTITIONS);
    there = [a, b].find((n) => n.opened.mesh.node!.owned().includes(owner))!;
    here = there === a ? b : a;
    await watchFeed(here);
    // The other node sends this one its every event once it has heard that this one follows: a
    // message decided there shows in this node's feed from then on.
    await until(async () => {
      await here.opened.mesh.inject('inbox', {
        type: 'ticket.opened.v1',
        subject: subjectOf(there),
        data: { text: 'hi' },
      });
      await sleep(100);
      return feed.some((e) => e.node === there.name);
    }, "the other node's events in this node's feed");

    // The retention tickets, sent through `here`: each goes to its subject's partition's owner.
    const lines = readFileSync(join(dir, 'tickets.jsonl'), 'utf8').split('\n').slice(0, 6);
    for (const line of lines) {
      const { type, subject, data } = JSON.parse(line);
      await here.opened.mesh.inject('inbox', { type, subject, data });
    }
    await until(async () => (await holds()).some((h) => h.rule === 'big-credit'), 'the big-credit hold');
  });

  afterAll(async () => {
    stopFeed.abort();
    // A node that does not close in time must not keep its schema, stream and bucket around.
    const bounded = (work: Promise<void>) => Promise.race([work, sleep(20_000)]);
    for (const node of nodes.reverse()) {
      await bounded(node.server.close());
      await bounded(node.opened.close());
    }
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
    const nc = await connect({ servers: NATS });
    try {
      await (await jetstreamManager(nc)).streams.delete(streamNameOf(mesh)).catch(() => {});
    } finally {
      await nc.close();
    }
    await dropLeaseBucket(mesh);
  }, 120_000);

  it('reports this node, the live nodes and the partitions each owns', async () => {
    const cluster = await get('/cluster');
    expect(cluster).toMatchObject({ mode: 'cluster', node: here.name, partitions: PARTITIONS, unowned: [] });
    expect(cluster.nodes.map((n: { node: string }) => n.node)).toEqual(['a', 'b']);
    const owned = cluster.nodes.flatMap((n: { owned: number[] }) => n.owned).sort();
    expect(owned).toEqual([0, 1, 2, 3]);
    const self = cluster.nodes.find((n: { self: boolean }) => n.self);
    expect(self.node).toBe(here.name);
    expect((await call(here, undefined, 'GET', '/health')).body).toMatchObject({ node: here.name });
  });

  it('lists the node that asks even when no answer comes in time, with what it owns', async () => {
    // A millisecond: too short for any answer over NATS (a round trip and more), not for its own row.
    const listed = await here.opened.control!.nodes(1);
    const self = listed.find((n) => n.node === here.name);
    expect(self?.owned).toEqual(here.opened.mesh.node!.owned());
  });

  it('lists every live node while one that left still answers, as a node shutting down does', async () => {
    // A node whose membership is gone (it is leaving) answers the control channel until it exits.
    const leaving = await connect({ servers: NATS });
    const status = { node: 'leaving', owned: [], busy: 0, counts: {}, held: [], heldTotal: 0, breakers: [] };
    leaving.subscribe(`mw.${meshToken(mesh)}.c.status`, {
      callback: (_err, msg) => {
        msg.respond(JSON.stringify({ ok: status }));
      },
    });
    try {
      await leaving.flush();
      // Its quick answer once took a live member's place in the count: several polls, each whole.
      for (let i = 0; i < 10; i++) {
        const listed = (await here.opened.control!.nodes()).map((n) => n.node);
        expect(listed).toEqual(expect.arrayContaining(['a', 'b']));
      }
    } finally {
      await leaving.close();
    }
  });

  it('lists the holds of partitions the other node owns, naming that node', async () => {
    const hold = (await holds()).find((h) => h.rule === 'big-credit')!;
    expect(hold).toMatchObject({ subject: BIG_CREDIT_ACCOUNT, type: 'credit.issue', node: there.name });
    // This node holds nothing of it itself: the list is the cluster's.
    expect(here.opened.mesh.held().some((h) => h.msgId === hold.id)).toBe(false);
  });

  it("shows the shared ledger's heads, the other node's partitions included", async () => {
    const ledger = await get('/ledger');
    // Read after it: the mesh goes on deciding, so a partition may have grown since.
    const stored = await here.opened.ledger.storedHeads();
    type Head = { partition: number; size: number };
    expect(ledger.heads.map((h: Head) => h.partition)).toEqual(stored.map((h) => h.partition));
    for (const [i, h] of (ledger.heads as Head[]).entries())
      expect(h.size).toBeLessThanOrEqual(stored[i]!.size);
    expect(ledger.entries).toBe((ledger.heads as Head[]).reduce((n, h) => n + h.size, 0));
    // This node's writer read the other node's partitions at open and knows nothing since; the view
    // has what that node wrote.
    const theirs: number[] = (await get('/cluster')).nodes.find((n: { self: boolean }) => !n.self).owned;
    const own = new Map(here.opened.ledger.heads().map((h) => [h.partition, h.size]));
    const grown = (ledger.heads as Head[]).filter(
      (h) => theirs.includes(h.partition) && h.size > (own.get(h.partition) ?? 0),
    );
    expect(grown.length).toBeGreaterThan(0);
  });

  it('counts what every node decided', async () => {
    const cluster = await get('/cluster');
    const stats = await get('/stats');
    const admitted = cluster.nodes.reduce(
      (sum: number, n: { counts: { messages: { admitted: number } } }) => sum + n.counts.messages.admitted,
      0,
    );
    expect(stats.counts.messages.admitted).toBe(admitted);
    expect(stats.counts.effects.held).toBeGreaterThanOrEqual(1);
  });

  it("rates every node's decisions once each: both nodes' edges agree", async () => {
    for (let i = 0; i < 3; i++) {
      await here.opened.mesh.inject('inbox', {
        type: 'ticket.opened.v1',
        subject: subjectOf(there),
        data: { text: 'fine' },
      });
    }
    const key = 'ingress:inbox ticket.opened.v1';
    type Stats = { edges: Record<string, { deliver: number }> };
    // Counts cross every 100 ms, and the 10 s window slides: read both until they agree.
    const agreed = await until(async () => {
      const mine: Stats = await get('/stats');
      const theirs: Stats = (await call(there, there.token, 'GET', '/stats')).body;
      const same = JSON.stringify(mine.edges) === JSON.stringify(theirs.edges);
      return same && (mine.edges[key]?.deliver ?? 0) >= 3 ? mine : undefined;
    }, 'both nodes rating the three tickets alike');
    // This node follows the other (its feed is watched), so it had those decisions as events too,
    // and counted them only once.
    expect(agreed.edges[key]!.deliver).toBeGreaterThanOrEqual(3);
  });

  it("shows events decided on the other node in this node's live feed", async () => {
    const fromThere = await until(
      async () => feed.find((e) => e.kind === 'decision' && e.subject === BIG_CREDIT_ACCOUNT),
      'a decision on the big-credit account in the feed',
    );
    expect(fromThere.node).toBe(there.name);
  });

  it('shows the cluster and a hold of the other node in the console', async () => {
    let browser: ConsoleBrowser | undefined;
    try {
      browser = await openBrowser();
      const { page } = browser;
      await page.goto(`${here.url}/#token=${here.token}`);
      const self = page.locator(`[data-testid="cluster-node"][data-node="${here.name}"]`);
      await self.waitFor();
      expect(await self.getAttribute('data-self')).toBe('true');
      const other = page.locator(`[data-testid="cluster-node"][data-node="${there.name}"]`);
      const owned = there.opened.mesh.node!.owned().join(',');
      expect(await other.getAttribute('data-owned')).toBe(owned);
      // The totals are the live nodes' sums, which a node that stops takes its share of along.
      const counters = page.getByTestId('counters');
      expect(await counters.locator('h3').allTextContents()).toContain(
        'Since each live node started: the gate’s first verdict',
      );
      expect(await page.getByTestId('counters-cluster-note').textContent()).toMatch(/can go down/);
      await browser.shot('cluster-mesh');
      await page.getByTestId('nav-held').click();
      const card = page.locator(`[data-testid="hold-card"][data-subject="${BIG_CREDIT_ACCOUNT}"]`);
      await card.waitFor();
      expect(await card.getByTestId('hold-node').textContent()).toBe(there.name);
      await browser.shot('cluster-held');
      // The live feed of this node shows what the other node decides, with its name.
      await page.getByTestId('nav-live').click();
      await page.locator('[data-testid="feed-state"].feed-live').waitFor();
      const subject = subjectOf(there);
      await here.opened.mesh.inject('inbox', {
        type: 'ticket.opened.v1',
        subject,
        data: { text: 'Angry again, we will cancel.' },
      });
      const row = page.locator(`[data-testid="feed-row"][data-node="${there.name}"]`).first();
      await row.waitFor();
      expect(await row.textContent()).toContain(`on ${there.name}`);
      await browser.shot('cluster-feed');
    } finally {
      await browser?.close();
    }
  });

  it('approves a hold the other node holds, and a second approval is refused as not held', async () => {
    const hold = (await holds()).find((h) => h.rule === 'big-credit')!;
    const approve = () =>
      call(here, here.token, 'POST', `/holds/${hold.id}/approve`, { reason: 'enterprise customer' });
    const first = await approve();
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ id: hold.id, outcome: 'deliver', by: 'pilot:admin' });
    expect((await holds()).some((h) => h.id === hold.id)).toBe(false);
    const second = await approve();
    expect(second.status).toBe(404);
    expect(second.body.error.code).toBe('MW_PILOT_NOT_HELD');
  });

  it('freezes a subject the other node owns, lists it frozen here, refuses a second freeze, unfreezes', async () => {
    const subject = subjectOf(there, 'f');
    const freeze = () => call(here, here.token, 'POST', '/freeze', { subject, reason: 'fraud check' });
    expect((await freeze()).status).toBe(200);
    const breakers = await get('/breakers');
    expect(breakers.frozen).toContain(subject);
    expect(breakers.breakers).toContainEqual(expect.objectContaining({ id: 'pilot', key: subject }));
    const again = await freeze();
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('MW_PILOT_ALREADY_FROZEN');
    const unfrozen = await call(here, here.token, 'POST', '/unfreeze', { subject, reason: 'cleared' });
    expect(unfrozen.body).toEqual({ subject, frozen: false, closed: ['pilot'] });
    expect((await get('/breakers')).frozen).not.toContain(subject);
  });

  it("resets the loop guard's breaker wherever it is open, and a second reset finds none", async () => {
    type Breaker = { id: string; key: string };
    const isLoop = (b: Breaker) => b.id === 'loop' && b.key === 'account:8841';
    await until(
      async () => ((await get('/breakers')).breakers as Breaker[]).some(isLoop),
      'the loop breaker',
    );
    const reset = () =>
      call(here, here.token, 'POST', '/breakers/loop/reset', {
        key: 'account:8841',
        reason: 'fixed the address',
      });
    expect((await reset()).body).toEqual({ id: 'loop', key: 'account:8841', closed: true });
    expect(((await get('/breakers')).breakers as Breaker[]).some(isLoop)).toBe(false);
    const again = await reset();
    expect(again.status).toBe(404);
    expect(again.body.error.code).toBe('MW_PILOT_NO_BREAKER');
  });
  // Last: a third node joins and the partitions move.
  it("shows each node's policy digest, and says when a node joins on another policy", async () => {
    const nodesNow = (await get('/cluster')).nodes as {
      node: string;
      policyDigest: string;
      itemsPerMessage: number;
    }[];
    expect(nodesNow.map((n) => n.policyDigest)).toEqual(nodesNow.map(() => here.opened.mesh.policy.digest));
    expect(nodesNow.map((n) => n.itemsPerMessage)).toEqual(nodesNow.map(() => 64)); // a mesh made now packs
    // A rolling restart with a new mesh file: node c runs a looser loop guard than a and b.
    const other = join(dir, 'mesh-c.yaml');
    writeFileSync(other, readFileSync(join(dir, 'mesh.yaml'), 'utf8').replace('maxHops: 8', 'maxHops: 9'));
    const c = await startNode('c', other);
    expect(c.opened.mesh.policy.digest).not.toBe(here.opened.mesh.policy.digest);
    const digests = async () =>
      new Map(
        ((await get('/cluster')).nodes as { node: string; policyDigest: string }[]).map((n) => [
          n.node,
          n.policyDigest,
        ]),
      );
    await until(
      async () => (await digests()).get('c') === c.opened.mesh.policy.digest,
      'c in /cluster with its digest',
    );
    const said: string[] = [];
    await sayClusterNotes(c.opened.control!, c.opened.mesh.policy.digest, { note: (t) => said.push(t) }, log);
    expect(said).toHaveLength(1);
    expect(said[0]).toContain(here.opened.mesh.policy.digest);
  });
});
