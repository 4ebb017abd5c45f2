import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ENTRY, feedFile, openMesh, summarize } from '../../runtime/index.js';
import { createMcpTransport } from './transport.js';

const EXAMPLE = new URL('../../../examples/retention-mcp/', import.meta.url).pathname;

describe('examples/retention-mcp: credits issued by the tool of an MCP server', () => {
  it('still stops the loop: account 8841 gets at most 2 credits and is frozen', async () => {
    await using mcp = createMcpTransport();
    const opened = await openMesh({
      meshFile: join(EXAMPLE, 'mesh.yaml'),
      dataDir: mkdtempSync(join(tmpdir(), 'meshwarden-retention-mcp-')),
      log: pino({ level: 'silent' }),
      transports: [mcp],
    });
    if (!opened.ok) throw new Error(JSON.stringify(opened));
    await using o = opened.opened;
    expect(o.mesh.policy.effects.get('credit.issue')?.mcp?.tool).toBe('credit');
    await feedFile(
      o.mesh,
      new URL('../../../examples/retention/tickets.jsonl', import.meta.url).pathname,
      () => {},
      new AbortController().signal,
    );
    await o.mesh.idle();

    const entries = await Array.fromAsync(o.ledger.scan());
    const credits = entries.filter(
      (e) => e.kind === ENTRY.effectExecuted && e.agent === 'effect:credit.issue',
    );
    const for8841 = credits.filter((e) => e.subject === 'account:8841');
    expect(for8841.length).toBeGreaterThan(0);
    expect(for8841.length).toBeLessThanOrEqual(2);
    const summary = summarize(o.mesh.counts(), o.mesh.state, o.ledger, o.mesh.policy);
    expect(summary.frozen).toContain('account:8841');
    // The credits really came from the tool: its structured answer, keyed by the request id.
    for (const credit of credits) {
      const { result } = credit.data as { result: { creditId: string; currency: string } };
      expect(result.creditId).toBe(`cr_${credit.msgId!.slice(-12)}`);
    }
    expect(entries.filter((e) => e.kind === ENTRY.deadLetter)).toEqual([]);
    expect((await o.ledger.verify()).ok).toBe(true);
  });
});
