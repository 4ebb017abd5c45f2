import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { countLedger } from '../bench/torture/lib.ts';
import { BIN, parseEntries, REPO, runCli, tempDir } from './run-cli.js';

describe('crash recovery', () => {
  it('delivers everything admitted after a SIGKILL mid-run, and the ledger verifies', async () => {
    const project = tempDir('kill');
    mkdirSync(join(project, 'node_modules'));
    symlinkSync(REPO, join(project, 'node_modules', 'meshwarden'));
    cpSync(join(REPO, 'templates', 'init'), join(project, 'mesh'), { recursive: true });
    const lines: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      lines.push(
        JSON.stringify({
          source: 'web',
          type: 'order.placed.v1',
          subject: `customer:${i}`,
          data: { items: 1, total: 10 },
        }),
      );
    }
    writeFileSync(join(project, 'orders.jsonl'), `${lines.join('\n')}\n`);
    const data = join(project, 'data');

    const child = spawn(
      process.execPath,
      [BIN, 'run', 'mesh/mesh.yaml', '--input', 'orders.jsonl', '--data', data],
      {
        cwd: project,
        stdio: 'ignore',
      },
    );
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_code, signal) => resolve(signal)),
    );
    while (countLedger(data) < 3_000) {
      // A run that died before reaching the kill point is a failure, not a reason to wait forever.
      expect(child.exitCode).toBeNull();
      await sleep(20);
    }
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    const resumed = await runCli(['run', 'mesh/mesh.yaml', '--data', data, '--json'], { cwd: project });
    expect(resumed.code, resumed.stderr).toBe(0);

    const exported = await runCli(['audit', 'export', '--data', data], { cwd: project });
    const entries = parseEntries(exported.stdout);
    const admitted = entries.filter(
      (e) => e.kind === 'decision' && (e.data.verdict as { decision: string }).decision === 'deliver',
    );
    expect(admitted.length).toBeGreaterThan(1_000);
    // Finished: a delivered, dead-letter or effect.executed entry, or decisions on what the handler
    // emitted (they name the message they were caused by, and the handler as their agent).
    const done = new Set([
      ...entries
        .filter((e) => ['delivered', 'dead-letter', 'effect.executed'].includes(e.kind))
        .map((e) => e.msgId),
      ...entries
        .filter(
          (e) => e.kind === 'decision' && e.causationId !== undefined && !e.agent?.startsWith('ingress:'),
        )
        .map((e) => e.causationId),
    ]);
    const undelivered = admitted.filter((e) => !done.has(e.msgId));
    expect(undelivered).toEqual([]);

    // At-least-once, but what was durable before the kill is not redone: each handled message
    // led to exactly one recorded emission (these agents emit one message or effect each).
    const children = new Map<string, number>();
    for (const e of entries) {
      if (e.kind === 'decision' && e.causationId !== undefined)
        children.set(e.causationId, (children.get(e.causationId) ?? 0) + 1);
    }
    expect([...children.values()].filter((n) => n > 1)).toEqual([]);

    const verify = await runCli(['audit', 'verify', '--data', data, '--json'], { cwd: project });
    expect(verify.code, verify.stdout).toBe(0);
  });
});
