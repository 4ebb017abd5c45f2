import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENTRY, feedFile, openMesh, summarize } from '../../runtime/index.js';
import { type A2aPeer, startA2aPeer } from './test-kit.js';
import { createA2aTransport } from './transport.js';

const EXAMPLE = new URL('../../../examples/retention/', import.meta.url).pathname;

describe('the retention example with churn as a remote A2A agent', () => {
  let peer: A2aPeer;
  beforeAll(async () => {
    peer = await startA2aPeer();
  });
  afterAll(() => peer.close());

  it('still stops the loop: account 8841 gets at most 2 credits and is frozen', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshwarden-retention-a2a-'));
    cpSync(EXAMPLE, dir, { recursive: true });
    const meshFile = join(dir, 'mesh.yaml');
    const mesh = readFileSync(meshFile, 'utf8');
    const remote = mesh.replace('module: ./agents/churn.ts', `a2a: ${peer.cardUrl}`);
    expect(remote).not.toBe(mesh);
    writeFileSync(meshFile, remote);

    const opened = await openMesh({
      meshFile,
      dataDir: join(dir, 'data'),
      log: pino({ level: 'silent' }),
      transports: [createA2aTransport()],
    });
    if (!opened.ok) throw new Error(JSON.stringify(opened));
    await using o = opened.opened;
    await feedFile(o.mesh, join(dir, 'tickets.jsonl'), () => {}, new AbortController().signal);
    await o.mesh.idle();

    const entries = await Array.fromAsync(o.ledger.scan());
    const credits = entries.filter(
      (e) =>
        e.kind === ENTRY.effectExecuted && e.subject === 'account:8841' && e.agent === 'effect:credit.issue',
    );
    expect(credits.length).toBeGreaterThan(0);
    expect(credits.length).toBeLessThanOrEqual(2);
    const summary = summarize(o.mesh.counts(), o.mesh.state, o.ledger, o.mesh.policy);
    expect(summary.frozen).toContain('account:8841');
    // The churn step really went over A2A: its decisions name the remote agent, and it was called.
    expect(entries.some((e) => e.kind === ENTRY.decision && e.agent === 'churn@2.0.1')).toBe(true);
    expect(peer.received.length).toBeGreaterThan(0);
    expect((await o.ledger.verify()).ok).toBe(true);
  });
});
