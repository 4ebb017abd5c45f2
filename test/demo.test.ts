import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseEntries, runCli, tempDir } from './run-cli.js';

type Entry = ReturnType<typeof parseEntries>[number];

describe('demo retention', () => {
  const data = join(tempDir('demo'), 'data');
  let summary: {
    messages: Record<string, number>;
    effects: Record<string, number>;
    frozen: string[];
    breakers: { id: string; key: string; state: string }[];
    ledger: { entries: number; head: string };
  };
  let entries: Entry[];
  const executed = (effect: string, subject: string) =>
    entries.filter((e) => e.kind === 'effect.executed' && e.data.effect === effect && e.subject === subject)
      .length;

  beforeAll(async () => {
    const run = await runCli(['demo', 'retention', '--data', data, '--json']);
    expect(run.code, run.stderr).toBe(0);
    summary = JSON.parse(run.stdout);
    const exported = await runCli(['audit', 'export', '--data', data]);
    expect(exported.code).toBe(0);
    entries = parseEntries(exported.stdout);
  });

  it('prints the summary shape of the CLI contract', () => {
    expect(Object.keys(summary.messages).sort()).toEqual([
      'admitted',
      'delivered',
      'denied',
      'held',
      'quarantined',
    ]);
    expect(summary.effects).toMatchObject({
      executed: expect.any(Number),
      denied: expect.any(Number),
      held: expect.any(Number),
    });
    expect(summary.ledger.head).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(summary.ledger.entries).toBe(entries.length);
  });

  it('stops the loop after two credits and freezes only the looping account', () => {
    expect(executed('credit.issue', 'account:8841')).toBe(2);
    expect(summary.frozen).toEqual(['account:8841']);
    const stop = entries.find(
      (e) =>
        e.kind === 'decision' &&
        e.subject === 'account:8841' &&
        (e.data.verdict as { reason: string }).reason.startsWith('loop.'),
    );
    expect(stop).toBeDefined();
  });

  it('links the returning e-mail to the effect it echoes', () => {
    const linked = entries.filter((e) => e.kind === 'decision' && e.data.link !== undefined);
    expect(linked.length).toBeGreaterThanOrEqual(1);
    expect(linked.every((e) => e.subject === 'account:8841')).toBe(true);
  });

  it.each([
    ['account:1203', 1],
    ['account:5570', 0],
    ['account:3316', 0],
    ['account:7702', 2],
  ])('gives %s exactly the credits its tickets earn (%i)', (subject, credits) => {
    expect(executed('credit.issue', subject)).toBe(credits);
  });

  it('holds the big enterprise credit for a pilot', () => {
    const held = entries.filter(
      (e) =>
        e.kind === 'decision' &&
        e.subject === 'account:3316' &&
        (e.data.verdict as { reason: string }).reason === 'approval.required',
    );
    expect(held).toHaveLength(1);
  });

  it('records every broken input line instead of stopping', () => {
    const quarantined = entries.filter(
      (e) => e.kind === 'decision' && (e.data.verdict as { decision: string }).decision === 'quarantine',
    );
    const reasons = quarantined.map((e) => (e.data.verdict as { reason: string }).reason).sort();
    expect(reasons).toEqual([
      'contract.invalid_payload',
      'envelope.unknown_source',
      'ingress.malformed_json',
    ]);
    expect(summary.messages.quarantined).toBe(3);
  });

  it('explains the last credit of the looping account with why, root first', async () => {
    const credits = entries.filter(
      (e) => e.kind === 'effect.executed' && e.subject === 'account:8841' && e.data.effect === 'credit.issue',
    );
    const last = credits.at(-1)!;
    const why = await runCli(['why', last.msgId!, '--data', data, '--json']);
    expect(why.code, why.stderr).toBe(0);
    const doc = JSON.parse(why.stdout) as { id: string; chain: Record<string, unknown>[] };
    expect(doc.id).toBe(last.msgId);
    expect(doc.chain[0]).toMatchObject({ hop: 0, type: 'ticket.opened.v1', verdict: 'deliver' });
    expect(doc.chain.at(-1)).toMatchObject({ id: last.msgId, type: 'credit.issue', verdict: 'deliver' });
    for (const link of doc.chain) {
      expect(Object.keys(link)).toEqual(
        expect.arrayContaining([
          'id',
          'type',
          'source',
          'subject',
          'hop',
          'verdict',
          'stage',
          'rule',
          'reason',
        ]),
      );
    }
    expect(doc.chain.map((l) => l.hop)).toEqual(doc.chain.map((_, i) => i));
    const text = await runCli(['why', last.msgId!, '--data', data]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('discount@1.1.0');
  });

  it('shows with impact what a root ticket caused', async () => {
    const root = entries.find(
      (e) =>
        e.kind === 'decision' &&
        e.subject === 'account:1203' &&
        (e.data.envelope as { hop?: number })?.hop === 0,
    )!;
    const impact = await runCli(['impact', root.msgId!, '--data', data, '--json']);
    expect(impact.code, impact.stderr).toBe(0);
    const doc = JSON.parse(impact.stdout) as { impact: { type: string }[] };
    expect(doc.impact.map((l) => l.type)).toEqual(
      expect.arrayContaining(['ticket.scored.v1', 'churn.assessed.v1', 'credit.issue', 'email.send']),
    );
    const byAgent = await runCli(['impact', 'discount@1.1.0', '--data', data, '--json']);
    expect(byAgent.code).toBe(0);
    expect(JSON.parse(byAgent.stdout).roots.length).toBeGreaterThan(0);
  });

  it('tells the story in text, ending with the commands to run next', async () => {
    const again = await runCli(['demo', 'retention', '--data', join(tempDir('demo-text'), 'd')]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('account:8841');
    expect(again.stdout).toContain('npx meshwarden why ');
    expect(again.stdout).toContain('npx meshwarden audit verify');
  });

  it('verifies the ledger, and names the first bad entry after tampering', async () => {
    const ok = await runCli(['audit', 'verify', '--data', data, '--json']);
    expect(ok.code, ok.stdout).toBe(0);
    const db = new DatabaseSync(join(data, 'ledger.db'));
    db.prepare(
      `UPDATE entries SET body = replace(body, '"amount":25', '"amount":26') WHERE seq = (SELECT min(seq) FROM entries WHERE kind = 'effect.executed' AND body LIKE '%"amount":25%')`,
    ).run();
    const bad = db.prepare(`SELECT seq FROM entries WHERE body LIKE '%"amount":26%'`).get() as {
      seq: number;
    };
    db.close();
    const tampered = await runCli(['audit', 'verify', '--data', data, '--json']);
    expect(tampered.code).toBe(1);
    expect(JSON.parse(tampered.stdout)).toMatchObject({ ok: false, problem: 'hash-mismatch', seq: bad.seq });
  });
});
