import { createHash } from 'node:crypto';
import { closeSync, openSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseEntries, REPO, runCli, tempDir } from './run-cli.js';

describe('bad input', () => {
  it('records every kind of bad line with a reason and keeps running', async () => {
    const dir = tempDir('bad');
    const good = {
      source: 'inbox',
      type: 'ticket.opened.v1',
      subject: 'account:5570',
      data: { text: 'Love it, thanks!' },
    };
    const lines = [
      JSON.stringify(good),
      '{"source": "inbox", "type": ', // malformed JSON
      '[1, 2, 3]', // not an object
      JSON.stringify({ source: 'inbox', type: 'ticket.opened.v1', data: {} }), // no subject
      JSON.stringify({ ...good, type: 'ticket.closed.v9' }), // unknown type
      JSON.stringify({ ...good, data: { text: 42 } }), // payload fails its contract
      JSON.stringify({ ...good, source: 'fax' }), // unknown ingress
      JSON.stringify({ ...good, data: { text: 'x'.repeat(70_000) } }), // oversized envelope
      JSON.stringify({ ...good, id: 'not-a-uuid' }), // malformed id
      `{"source":"inbox","type":"ticket.opened.v1","subject":"account:1","data":${'['.repeat(50_000)}${']'.repeat(50_000)}}`, // nested 50,000 deep
      '',
      JSON.stringify({ ...good, subject: 'account:1203' }),
    ];
    const input = join(dir, 'in.jsonl');
    writeFileSync(input, `${lines.join('\n')}\n`);
    const data = join(dir, 'data');
    const run = await runCli(
      ['run', 'examples/retention/mesh.yaml', '--input', input, '--data', data, '--json'],
      { cwd: REPO },
    );
    expect(run.code, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary.messages.quarantined + summary.messages.denied).toBe(9);

    const entries = parseEntries((await runCli(['audit', 'export', '--data', data])).stdout);
    const stopped = entries
      .filter((e) => e.kind === 'decision' && (e.data.verdict as { decision: string }).decision !== 'deliver')
      .map((e) => (e.data.verdict as { reason: string }).reason);
    expect(stopped).toEqual([
      'ingress.malformed_json',
      'ingress.bad_line',
      'ingress.bad_line',
      'authorization.unknown_type',
      'contract.invalid_payload',
      'envelope.unknown_source',
      'envelope.too_large',
      'envelope.malformed',
      'envelope.too_deep',
    ]);
    const located = entries.filter((e) => typeof e.data.location === 'string').map((e) => e.data.location);
    expect(located).toEqual([
      expect.stringMatching(/in\.jsonl:2:\d+$/),
      expect.stringMatching(/in\.jsonl:3:1$/),
      expect.stringMatching(/in\.jsonl:4:1$/),
    ]);
    // Both good tickets went all the way through: sentiment scored each of them.
    const scored = entries.filter((e) => e.kind === 'decision' && e.agent === 'sentiment@1.4.0');
    expect(scored).toHaveLength(2);
    // Every rejected line can be explained.
    const first = entries.find(
      (e) =>
        e.kind === 'decision' && (e.data.verdict as { reason: string }).reason === 'ingress.malformed_json',
    )!;
    const why = await runCli(['why', first.msgId!, '--data', data, '--json']);
    expect(why.code).toBe(0);
    expect(JSON.parse(why.stdout).chain[0]).toMatchObject({
      verdict: 'quarantine',
      reason: 'ingress.malformed_json',
    });
    // In text, a line that never parsed is about nothing: no empty subject.
    const text = await runCli(['why', first.msgId!, '--data', data]);
    expect(text.stdout.split('\n')[0]).toMatch(/^why \S+: \(unparsed input\), the last of 1 message/);
  });

  it('quarantines a 200 MB line without holding it, and a line that is not UTF-8, and goes on', async () => {
    const dir = tempDir('huge');
    const input = join(dir, 'in.jsonl');
    const good = (n: number) =>
      `${JSON.stringify({ source: 'inbox', type: 'ticket.opened.v1', subject: `account:${n}`, data: { text: 'Love it' } })}\n`;
    // Written and hashed in 1 MiB pieces: the test never holds the line either.
    const fd = openSync(input, 'w');
    const hash = createHash('sha256');
    const put = (b: Buffer) => {
      writeSync(fd, b);
      return b;
    };
    put(Buffer.from(good(1)));
    hash.update(
      put(Buffer.from('{"source":"inbox","type":"ticket.opened.v1","subject":"account:2","data":{"text":"')),
    );
    const mib = Buffer.alloc(1 << 20, 'x');
    for (let i = 0; i < 200; i++) hash.update(put(mib));
    hash.update(put(Buffer.from('"}}')));
    put(Buffer.from('\r\n'));
    const invalid = Buffer.concat([
      Buffer.from('{"source":"inbox","text":"caf'),
      Buffer.from([0xe9]),
      Buffer.from('"}'),
    ]);
    put(Buffer.concat([invalid, Buffer.from('\n')]));
    put(Buffer.from(good(3)));
    closeSync(fd);
    const bigBytes = statSync(input).size - Buffer.byteLength(good(1)) * 2 - invalid.byteLength - 3;

    const data = join(dir, 'data');
    const run = await runCli([
      'run',
      'examples/retention/mesh.yaml',
      '--input',
      input,
      '--data',
      data,
      '--json',
    ]);
    rmSync(input);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).messages.quarantined).toBe(2);

    const exported = (await runCli(['audit', 'export', '--data', data])).stdout;
    // The ledger holds evidence of the line, not the line: every entry is small.
    for (const line of exported.split('\n')) expect(Buffer.byteLength(line)).toBeLessThan(8192);
    const entries = parseEntries(exported);
    const quarantined = entries.filter((e) => e.kind === 'decision' && typeof e.data.location === 'string');
    expect(quarantined.map((e) => [(e.data.verdict as { reason: string }).reason, e.data.location])).toEqual([
      ['ingress.line_too_large', expect.stringMatching(/in\.jsonl:2:1$/)],
      // Column 30: the first byte that is not UTF-8, 0xE9 (Latin-1 é).
      ['ingress.invalid_utf8', expect.stringMatching(/in\.jsonl:3:30$/)],
    ]);
    const [big, bad] = quarantined;
    expect(big!.data).toMatchObject({ rawBytes: bigBytes, rawDigest: `sha256:${hash.digest('hex')}` });
    expect((big!.data.raw as string).startsWith('{"source":"inbox"')).toBe(true);
    expect(bad!.data).toMatchObject({
      rawBytes: invalid.byteLength,
      rawDigest: `sha256:${createHash('sha256').update(invalid).digest('hex')}`,
    });
    for (const e of quarantined) {
      const why = await runCli(['why', e.msgId!, '--data', data, '--json']);
      expect(why.code).toBe(0);
      expect(JSON.parse(why.stdout).chain[0]).toMatchObject({ verdict: 'quarantine', stage: 'ingress' });
    }
    expect((await runCli(['audit', 'verify', '--data', data])).code).toBe(0);
  });

  it('is a usage error when the input file is missing', async () => {
    const r = await runCli([
      'run',
      'examples/retention/mesh.yaml',
      '--input',
      '/nonexistent.jsonl',
      '--data',
      tempDir('x'),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('MW_CLI_INPUT_MISSING');
  });

  it('names the environment variables it reads in up --help and run --help', async () => {
    const up = await runCli(['up', '--help']);
    expect(up.code).toBe(0);
    for (const name of [
      'MESHWARDEN_LOG',
      'OTEL_EXPORTER_OTLP_ENDPOINT',
      'MESHWARDEN_METRICS_TOKEN',
      '/api/v1/health',
    ])
      expect(up.stdout).toContain(name);
    const run = await runCli(['run', '--help']);
    expect(run.stdout).toContain('OTEL_EXPORTER_OTLP_ENDPOINT');
    expect(run.stdout).not.toContain('MESHWARDEN_METRICS_TOKEN');
  });

  it.each([['warning'], ['verbose']])(
    'refuses a MESHWARDEN_LOG level it does not know (%s) as a usage error, without a stack',
    async (level) => {
      const r = await runCli(['policy', 'check', 'examples/retention/mesh.yaml', '--json'], {
        env: { MESHWARDEN_LOG: level },
      });
      expect(r.code).toBe(2);
      expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, error: { code: 'MW_CLI_USAGE' } });
      expect(r.stderr).not.toMatch(/\n\s+at /);
      // Any case of a level it knows is that level.
      const upper = await runCli(['policy', 'check', 'examples/retention/mesh.yaml'], {
        env: { MESHWARDEN_LOG: 'INFO' },
      });
      expect(upper.code, upper.stderr).toBe(0);
    },
  );

  it.each([[['why', '--json']], [['approvals', 'list', '--bogus', '--json']]])(
    'prints one JSON document for a usage error under --json: %j',
    async (args) => {
      const r = await runCli(args);
      expect(r.code).toBe(2);
      expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, error: { code: 'MW_CLI_USAGE' } });
    },
  );
});
