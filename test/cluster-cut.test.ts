// A node cut off from NATS (issue 12): its `--cluster` URL goes through a TCP proxy that drops every
// socket and refuses new ones, as a network cut does. It must stop deciding within its lease (5 s,
// docs/distributed.md "Ownership"), the other node must take its partitions over, nothing accepted
// may be lost, and once the cut heals it must rejoin and decide again, without a restart.
import { describe, expect, it } from 'vitest';
import { cuttableProxy } from '../src/runtime/tcp-cut-test-kit.js';
import { NATS, openClusterKit, type SendResult, waitFor } from './cluster-kit.js';
import { ownershipHistory, ownershipProblems, settle, settledSplit } from './cluster-ledger.js';
import { ticketLoad } from './cluster-load.js';

const PARTITIONS = 8;
/** The lease time `up --cluster` runs with (docs/distributed.md, the defaults). */
const LEASE_MS = 5_000;

describe('a node cut off from NATS', () => {
  it('stops deciding within its lease, loses nothing, and rejoins when the cut heals', async () => {
    // The proxy goes last: the nodes stop (kit's dispose) while it still lets them through.
    await using proxy = await cuttableProxy(Number(new URL(NATS).port || 4222));
    await using kit = await openClusterKit({ partitions: PARTITIONS });
    await kit.start('node-a');
    await kit.start('node-b', { cluster: `nats://127.0.0.1:${proxy.port}` });
    const before = await settledSplit(kit, ['node-a', 'node-b'], PARTITIONS);
    const cutOff = [...before].filter(([, n]) => n === 'node-b').map(([p]) => p);

    const accepted: string[] = [];
    const keep = (results: readonly SendResult[]) => {
      for (const r of results) if (r.id !== undefined) accepted.push(r.id);
      return results;
    };
    const load = ticketLoad(900, 300_000);
    expect(keep(await kit.sendAll(load.slice(0, 300))).every((r) => r.status === 202)).toBe(true);

    proxy.cut();
    const cutAt = Date.now();
    kit.note(`cut node-b off NATS (it owns partitions ${cutOff.join(' ')})`);
    // During the cut: node-a takes every case (node-b's partitions once it owns them); what node-b
    // answers is either a refusal or an acceptance the ledger must then hold.
    const toB = await Promise.all(load.slice(300, 320).map((body) => kit.send('node-b', body)));
    keep(toB);
    const toA = await Promise.all(load.slice(320, 600).map((body) => kit.send('node-a', body)));
    keep(toA);
    await waitFor(
      `node-a taking over node-b's partitions ${cutOff.join(' ')}`,
      async () => {
        const taken = (await ownershipHistory(kit)).filter((o) => o.node === 'node-a' && o.at > cutAt);
        return cutOff.every((p) => taken.some((o) => o.partition === p));
      },
      30_000,
    );
    kit.note(
      `node-a took node-b's partitions; node-b's answers meanwhile: ${JSON.stringify(toB.map((r) => `${r.status} ${r.error ?? ''}`))}`,
    );
    expect(kit.node('node-b').running, 'node-b rides the cut out').toBe(true);

    proxy.heal();
    const healedAt = Date.now();
    await waitFor(
      'node-b owning partitions again',
      async () => (await ownershipHistory(kit)).some((o) => o.node === 'node-b' && o.at > healedAt),
      30_000,
    );
    kit.note('node-b owns partitions again');
    // Back: node-b takes cases again and they are decided.
    const afterB = keep(await Promise.all(load.slice(600, 700).map((body) => kit.send('node-b', body))));
    expect(afterB.map((r) => r.status)).toEqual(afterB.map(() => 202));
    keep(await kit.sendAll(load.slice(700)));

    expect(
      toA.filter((r) => r.status !== 202),
      'node-a kept taking cases during the cut',
    ).toEqual([]);
    const { findings, entries } = await settle(kit, PARTITIONS, accepted);
    expect(findings.undecided, 'accepted messages with no decision in the ledger').toEqual([]);
    expect(findings.unhandled.slice(0, 20), 'admitted work never handled').toEqual([]);
    expect(findings.decidedTwice, 'messages decided twice (a redelivery admitted again)').toEqual([]);

    // Within its lease: in each partition node-b owned, nothing was written after the cut plus a
    // lease before node-a's partition.owned (only node-b could have written it).
    const history = await ownershipHistory(kit);
    for (const p of cutOff) {
      const takeover = history.find((o) => o.partition === p && o.node === 'node-a' && o.at > cutAt)!;
      const late = entries.filter(
        (e) => e.partition === p && e.seq < takeover.seq && e.at > cutAt + LEASE_MS,
      );
      expect(late.map((e) => `p${p} seq ${e.seq} ${e.kind} at cut+${e.at - cutAt} ms`)).toEqual([]);
    }
    // And it said so itself: each partition given up (its lease lapsed, or its connection closed)
    // after the cut and before node-a's partition.owned there.
    const stops = kit
      .node('node-b')
      .records()
      .filter((r) => r.msg === 'partition given up' && r.time >= cutAt && r.time < healedAt);
    for (const p of cutOff) {
      const takeover = history.find((o) => o.partition === p && o.node === 'node-a' && o.at > cutAt)!;
      const stop = stops.find((r) => r.partition === p);
      expect(stop, `node-b's log: partition ${p} given up during the cut`).toMatchObject({
        reason: expect.stringMatching(/^(expired|connection)$/),
      });
      expect(stop!.time, `node-b stopped p${p} before node-a took it`).toBeLessThan(takeover.at);
    }
    // node-a took them from lapsed leases, no hand-off, and warned (the default level) for each.
    const warned = kit
      .node('node-a')
      .records()
      .filter((r) => r.time > cutAt && r.level === 40 && r.handOff === false);
    for (const p of cutOff) expect(warned.map((r) => r.partition)).toContain(p);
    const lapsed = kit
      .node('node-a')
      .records()
      .filter((r) => r.time > cutAt && r.level === 40 && r.lapsed === true);
    expect(
      lapsed.map((r) => r.peer),
      'node-a says node-b lapsed',
    ).toEqual(['node-b']);
    expect(ownershipProblems(history, PARTITIONS)).toEqual([]);
    const verify = await kit.verify();
    expect(verify.code, verify.stderr).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true });
  }, 180_000);
});
