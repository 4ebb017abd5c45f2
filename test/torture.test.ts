// The quick form of `npm run torture` (bench/torture/, docs/reliability.md): a few SIGKILLs, a
// bounded fuzz with a fixed seed and a 30-second soak, each failing on any broken invariant. Never
// on speed: the soak's ceiling and memory slope are printed, not asserted.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crashTorture } from '../bench/torture/crash.ts';
import { fuzzTorture } from '../bench/torture/fuzz.ts';
import { badLines, bigA2a, deepJson, invalidUtf8Http, nullRestPart } from '../bench/torture/known.ts';
import { cli, MESH, readLedger, startUp, tempDir, type UpHandle } from '../bench/torture/lib.ts';
import { soakTorture } from '../bench/torture/soak.ts';

const SEED = 20261203;
const progress = (text: string) => process.stderr.write(`torture: ${text}\n`);

describe('torture, quick form', () => {
  it('survives SIGKILLs of run --input and of up under HTTP load with holds and effects in flight', async () => {
    const r = await crashTorture({ kills: 3, lines: 3_000, seed: SEED, progress });
    expect(r.byMode).toEqual({ run: 2, up: 1 });
    expect(r.failures).toEqual([]);
    expect(r.totals).toMatchObject({
      admittedLost: 0,
      ledgerDuplicates: 0,
      effectsBeforeDurable: 0,
      holdsMissingAfterRestart: 0,
      unfinishedAfterRestart: 0,
      verifyFailures: 0,
    });
    // The kills landed with work in flight: effects had run and holds were waiting.
    expect(r.totals.effectsRun).toBeGreaterThan(0);
    expect(r.totals.holdsPendingAtKill).toBeGreaterThan(0);
  }, 240_000);

  it('answers fuzzed API, MCP and A2A bodies, JSON Lines, mesh files and envelopes with typed refusals', async () => {
    const r = await fuzzTorture({ runs: 60, lines: 200, policies: 10, seed: SEED, known: false, progress });
    expect(r.failures).toEqual([]);
    expect(r.verify).toBe(true);
    expect(r.serverExit).toBe(0);
    expect(r.jsonl.roots).toBeGreaterThan(0);
    expect(r.decided).toBeGreaterThan(0);
  }, 240_000);

  it('runs 30 s at 80 % of its ceiling through the HTTP API without an error, and the ledger verifies', async () => {
    const r = await soakTorture({ seconds: 30, measureSeconds: 3, progress });
    progress(`soak figures: ${JSON.stringify(r)}`);
    expect(r.firstErrors).toEqual([]);
    expect(r.errors).toBe(0);
    expect(r.sent).toBeGreaterThan(0);
    expect(r.samples).toBeGreaterThan(20);
    expect(r.verify).toBe(true);
  }, 240_000);

  it('records a malformed line that starts with an emoji (the parse error once held half a surrogate pair)', async () => {
    const dir = tempDir('emoji-line');
    writeFileSync(
      join(dir, 'in.jsonl'),
      '📍 not json\n{"source":"load","type":"job.v1","subject":"job:1","data":{"n":1,"amount":1}}\n',
    );
    const r = await cli([
      'run',
      MESH,
      '--input',
      join(dir, 'in.jsonl'),
      '--data',
      join(dir, 'data'),
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const roots = readLedger(join(dir, 'data')).filter(
      (e) => e.kind === 'decision' && e.causationId === null,
    );
    expect(roots.map((e) => (e.data.verdict as { reason: string }).reason)).toEqual([
      'ingress.malformed_json',
      'gate.admitted',
    ]);
  });
});

// Holes found before issue 10's fixes (and, for the null A2A part, by this suite's fuzz), sent on
// purpose every run: the fuzz is unlikely to hit them by chance. Each guards its fix.
describe('torture, known holes', () => {
  let up: UpHandle;
  let lines: Awaited<ReturnType<typeof badLines>>;
  beforeAll(async () => {
    up = await startUp(join(tempDir('known'), 'data'));
    lines = await badLines();
  });
  afterAll(async () => {
    await up?.stop();
  });

  it('JSON nested 50,000 deep in POST /messages is a typed 400, not a 500', async () => {
    expect(await deepJson(up.api, up.token!)).toMatchObject({ ok: true });
  });

  it('an A2A body over 100 kB is a typed 4xx, not a 500', async () => {
    expect(await bigA2a(up.api, up.token!)).toMatchObject({ ok: true });
  });

  it('bytes that are not UTF-8 in a POST /messages body are refused, not admitted', async () => {
    expect(await invalidUtf8Http(up.api, up.token!)).toMatchObject({ ok: true });
  });

  it('an A2A REST message:send whose part is null is a typed 4xx, not a 500', async () => {
    expect(await nullRestPart(up.api, up.token!)).toMatchObject({ ok: true });
  });

  it('a 4 MB line that is not JSON is refused without storing it whole', async () => {
    expect(lines[0]).toMatchObject({ ok: true });
  });

  it('a 4 MB message in a run --input line is refused without storing it whole', async () => {
    expect(lines[1]).toMatchObject({ ok: true });
  });

  it('bytes that are not UTF-8 in a run --input line are refused, not delivered', async () => {
    expect(lines[2]).toMatchObject({ ok: true });
  });
});
