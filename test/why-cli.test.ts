import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseEntries, REPO, runCli, tempDir } from './run-cli.js';

// `why` and `impact` in text print what agents and remotes wrote into the ledger: shown, never
// obeyed by the pilot's terminal, and complete.

const ESC = '\u001b';

describe('why and impact in text', () => {
  const dir = tempDir('why-cli');
  const data = join(dir, 'data');
  let hostile = '';
  let invalid = '';

  beforeAll(async () => {
    const ticket = (subject: string, payload: Record<string, unknown>) =>
      JSON.stringify({ source: 'inbox', type: 'ticket.opened.v1', subject, data: payload });
    const input = join(dir, 'in.jsonl');
    writeFileSync(
      input,
      `${[
        // A subject and a text that would recolour and re-title the terminal, and forge a line.
        ticket(`account:${ESC}[31m7\nnote: forged`, { text: `hi ${ESC}]0;pwned\u0007 ${ESC}[31mred` }),
        // Twelve contract problems: an unknown property named with an escape, and eleven more.
        ticket('account:8', {
          text: 42,
          subject: 7,
          from: 9,
          [`${ESC}[31mx`]: 1,
          ...Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`extra${i}`, i])),
        }),
      ].join('\n')}\n`,
    );
    const run = await runCli(['run', 'examples/retention/mesh.yaml', '--input', input, '--data', data], {
      cwd: REPO,
    });
    expect(run.code, run.stderr).toBe(0);
    const decisions = parseEntries((await runCli(['audit', 'export', '--data', data])).stdout).filter(
      (e) => e.kind === 'decision' && e.agent === 'ingress:inbox',
    );
    hostile = decisions[0]!.msgId!;
    invalid = decisions[1]!.msgId!;
  });

  it('shows control characters from the ledger instead of sending them to the terminal', async () => {
    for (const args of [
      ['why', hostile],
      ['impact', hostile],
      ['why', invalid],
    ]) {
      const r = await runCli([...args, '--data', data]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).not.toContain(ESC);
      expect(r.stdout).toContain('\\x1b[31m');
      // A line break inside a subject stays inside its line.
      expect(r.stdout).not.toMatch(/^note: forged/m);
    }
    // JSON keeps the data exactly (JSON escapes it).
    const json = await runCli(['why', hostile, '--data', data, '--json']);
    expect(JSON.parse(json.stdout).chain[0].data.text).toBe(`hi ${ESC}]0;pwned\u0007 ${ESC}[31mred`);
    expect(json.stdout).not.toContain(ESC);
  });

  it('lists every contract problem of a quarantine, the first ten and a count of the rest', async () => {
    const r = await runCli(['why', invalid, '--data', data]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    const head = lines.indexOf(`problems of ${invalid} (12):`);
    expect(head, r.stdout).toBeGreaterThan(0);
    const listed = lines.slice(head + 1, head + 12);
    expect(listed.slice(0, 10).every((l) => l.startsWith('  at /'))).toBe(true);
    expect(listed).toContain('  at /: must not have the property "\\x1b[31mx"');
    expect(listed).toContain('  at /text: must be string');
    expect(listed[10]).toBe('  and 2 more (why --json lists them all)');
    // JSON has them all, as the verdict recorded them.
    const json = JSON.parse((await runCli(['why', invalid, '--data', data, '--json'])).stdout);
    expect(json.chain[0].issues).toHaveLength(12);
    expect(json.chain[0].issues).toContainEqual({
      pointer: '/subject',
      message: 'must be string',
      keyword: 'type',
    });
  });
});
