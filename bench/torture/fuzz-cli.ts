// Fuzz what reaches the mesh without HTTP: JSON Lines through `run --input`, mesh files through
// `policy check`, and envelopes through the envelope reader every door uses.
import { cpSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import type { FuzzFailure } from './fuzz-http.ts';
import { cli, MESH, type Progress, readLedger, tempDir } from './lib.ts';

const json = fc.jsonValue({ maxDepth: 4 });
const text = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.constantFrom('', 'job.v1', 'job:1', 'load'),
);
/** A line never holds a line break: readline would make two lines of it. */
const oneLine = (s: string) => s.replace(/[\r\n]/g, ' ');

function lineArb(): fc.Arbitrary<string> {
  const jobData = fc.oneof(
    json,
    fc.record({ n: fc.integer(), amount: fc.oneof(fc.double(), fc.integer()) }, { requiredKeys: [] }),
  );
  return fc.oneof(
    fc.string({ unit: 'grapheme', maxLength: 200 }).map(oneLine),
    json.map((v) => JSON.stringify(v)),
    fc
      .record(
        {
          source: fc.oneof(fc.constant('load'), text),
          type: fc.oneof(fc.constant('job.v1'), text),
          subject: text,
          data: jobData,
          id: fc.oneof(fc.uuid(), text, fc.constant('01a23a7a-8b56-73c0-a18a-f7dcd378967e')),
          extra: json,
        },
        { requiredKeys: ['source', 'type', 'subject', 'data'] },
      )
      .map((v) => JSON.stringify(v)),
    fc
      .record({ source: fc.constant('load'), type: fc.constant('job.v1'), subject: text, data: jobData })
      .map((v) => JSON.stringify(v)),
  );
}

/**
 * `lines` fuzzed lines in one file through `run --input`: exit 0, and one root decision in the
 * ledger for every line that is not blank (admitted or refused, never dropped).
 */
export async function fuzzJsonl(opts: { lines: number; seed: number; progress: Progress }): Promise<{
  lines: number;
  nonBlank: number;
  roots: number;
  code: number | null;
  failures: FuzzFailure[];
}> {
  const dir = tempDir('fuzz-jsonl');
  const lines = fc.sample(lineArb(), { numRuns: opts.lines, seed: opts.seed });
  const input = join(dir, 'in.jsonl');
  writeFileSync(input, `${lines.join('\n')}\n`);
  const data = join(dir, 'data');
  const r = await cli(['run', MESH, '--input', input, '--data', data, '--json']);
  const failures: FuzzFailure[] = [];
  const expected = lines.filter((l) => l.trim() !== '').length;
  const roots = readLedger(data).filter((e) => e.kind === 'decision' && e.causationId === null).length;
  if (r.code !== 0)
    failures.push({
      door: 'run --input',
      input,
      status: r.code ?? -1,
      body: r.stdout.slice(0, 300),
      problem: `exit ${r.code}`,
      log: r.stderr.slice(-600),
    });
  if (roots !== expected)
    failures.push({
      door: 'run --input',
      input,
      status: r.code ?? -1,
      body: '',
      problem: `${expected} lines, ${roots} root decisions`,
    });
  opts.progress(`fuzz run --input: ${lines.length} lines, ${roots} root decisions, exit ${r.code}`);
  return { lines: lines.length, nonBlank: expected, roots, code: r.code, failures };
}

/** A mesh file with one value, key or stretch of text replaced by something fuzzed. */
function policyArb(original: string): fc.Arbitrary<string> {
  const tokens = original.match(/[A-Za-z0-9_.:/'"> =&-]+|[^A-Za-z0-9_.:/'"> =&-]/g) ?? [];
  const junk = fc.oneof(
    fc.string({ maxLength: 30 }),
    fc.constantFrom(
      '',
      '{',
      '}',
      '[',
      ']',
      ':',
      '- ',
      '\n',
      '  ',
      '"',
      "'",
      '&a',
      '*a',
      '!!int',
      '~',
      'null',
      '-1',
      '1e400',
      '0x10',
      '1h',
      '0s',
      'msg.data.amount >',
      '${',
      '\t',
    ),
    json.map((v) => JSON.stringify(v)),
  );
  return fc.oneof(
    fc
      .tuple(fc.nat(tokens.length - 1), junk)
      .map(([i, j]) => [...tokens.slice(0, i), j, ...tokens.slice(i + 1)].join('')),
    fc
      .tuple(fc.nat(original.length), fc.nat(200), junk)
      .map(([at, n, j]) => original.slice(0, at) + j + original.slice(at + n)),
    fc.string({ unit: 'grapheme', maxLength: 300 }),
    fc.tuple(fc.nat(original.length)).map(([at]) => original.slice(0, at)),
  );
}

/**
 * `runs` mutated mesh files through `policy check --json`: exit 0 or 1 (never a crash), one JSON
 * document, and a refusal lists issues that each carry an MW_* code and a line.
 */
export async function fuzzPolicy(opts: {
  runs: number;
  seed: number;
  progress: Progress;
  original: string;
}): Promise<{ runs: number; exits: Record<string, number>; failures: FuzzFailure[] }> {
  const dir = tempDir('fuzz-policy');
  cpSync(dirname(MESH), dir, { recursive: true });
  const file = join(dir, 'mesh.yaml');
  const failures: FuzzFailure[] = [];
  const exits: Record<string, number> = {};
  for (const candidate of fc.sample(policyArb(opts.original), { numRuns: opts.runs, seed: opts.seed })) {
    writeFileSync(file, candidate);
    const r = await cli(['policy', 'check', file, '--json']);
    exits[String(r.code)] = (exits[String(r.code)] ?? 0) + 1;
    let problem: string | undefined;
    let doc: { ok?: boolean; issues?: { code?: string; line?: number }[] } | undefined;
    try {
      doc = JSON.parse(r.stdout);
    } catch {
      problem = 'stdout is not one JSON document';
    }
    if (r.code !== 0 && r.code !== 1) problem = `exit ${r.code ?? r.signal}`;
    else if (
      r.code === 1 &&
      !(doc?.issues ?? []).every((i) => i.code?.startsWith('MW_') && typeof i.line === 'number')
    )
      problem = 'an issue without an MW_* code or a line';
    else if (r.code === 1 && (doc?.issues ?? []).length === 0) problem = 'refused without an issue';
    if (problem !== undefined)
      failures.push({
        door: 'policy check',
        input: candidate.slice(0, 300),
        status: r.code ?? -1,
        body: r.stdout.slice(0, 300),
        problem,
        log: r.stderr.slice(-600),
      });
  }
  opts.progress(
    `fuzz policy check: ${opts.runs} mesh files, exits ${JSON.stringify(exits)}, ${failures.length} failures`,
  );
  return { runs: opts.runs, exits, failures };
}

/** Envelopes, whole or near-valid, through the reader: it answers ok or issues with pointers, never throws. */
export async function fuzzEnvelopes(opts: {
  runs: number;
  seed: number;
  progress: Progress;
}): Promise<{ runs: number; ok: number; failures: FuzzFailure[] }> {
  const { readEnvelope } = (await import('../../dist/envelope/index.js')) as {
    readEnvelope: (
      c: unknown,
    ) => { ok: true } | { ok: false; issues: readonly { pointer: string; message: string }[] };
  };
  const envelope = fc.record(
    {
      specversion: fc.oneof(fc.constant('1.0'), text),
      id: fc.oneof(fc.uuid({ version: 7 }), text),
      source: fc.oneof(fc.constant('mesh://torture/worker@1.0.0'), text),
      type: fc.oneof(fc.constant('job.v1'), text),
      time: fc.oneof(
        fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
        text,
      ),
      subject: text,
      data: json,
      datacontenttype: fc.oneof(fc.constant('application/json'), text),
      correlationid: fc.oneof(fc.uuid({ version: 7 }), text),
      causationid: fc.oneof(fc.uuid({ version: 7 }), text),
      hop: fc.oneof(fc.integer(), fc.double(), text),
      ancestry: text,
      traceparent: text,
      target: text,
      extra: json,
    },
    { requiredKeys: [] },
  );
  // Well-formed by construction (every required attribute valid, the rest fuzzed): must be read ok.
  const wellFormed = fc.record({
    specversion: fc.constant('1.0'),
    id: fc.uuid({ version: 7 }),
    source: fc.constantFrom('mesh://torture/worker@1.0.0', 'mesh://torture/load'),
    type: fc.constantFrom('job.v1', 'pay.send'),
    time: fc.date({ noInvalidDate: true, min: new Date(0), max: new Date(4e12) }).map((d) => d.toISOString()),
    subject: fc.string({ minLength: 1 }),
    correlationid: fc.uuid({ version: 7 }),
    hop: fc.nat(),
    data: json,
    target: fc.string(),
  });
  const failures: FuzzFailure[] = [];
  let ok = 0;
  for (const candidate of fc.sample(wellFormed, { numRuns: Math.ceil(opts.runs / 10), seed: opts.seed })) {
    const r = readEnvelope(candidate);
    if (!r.ok)
      failures.push({
        door: 'envelope',
        input: safe(candidate),
        status: 0,
        body: JSON.stringify(r).slice(0, 300),
        problem: 'a well-formed envelope was refused',
      });
  }
  for (const candidate of fc.sample(fc.oneof(fc.anything(), envelope), {
    numRuns: opts.runs,
    seed: opts.seed,
  })) {
    try {
      const r = readEnvelope(candidate);
      if (r.ok) ok++;
      else if (r.issues.length === 0 || !r.issues.every((i) => typeof i.pointer === 'string'))
        failures.push({
          door: 'envelope',
          input: safe(candidate),
          status: 0,
          body: JSON.stringify(r).slice(0, 300),
          problem: 'refused without a located issue',
        });
    } catch (err) {
      failures.push({
        door: 'envelope',
        input: safe(candidate),
        status: 0,
        body: String(err),
        problem: 'the reader threw',
      });
    }
  }
  opts.progress(
    `fuzz envelopes: ${opts.runs} candidates, ${ok} well-formed, and ${Math.ceil(opts.runs / 10)} built well-formed; ${failures.length} failures`,
  );
  return { runs: opts.runs, ok, failures };
}

function safe(v: unknown): string {
  try {
    return String(JSON.stringify(v)).slice(0, 300);
  } catch {
    return String(v).slice(0, 300);
  }
}
