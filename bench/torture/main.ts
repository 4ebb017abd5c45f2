// npm run torture [-- --quick] [--only crash|fuzz|soak] [--seed N]: what a crash, hostile input and a
// long load do to Meshwarden. Progress on stderr, one table on stdout, bench/results/torture.json.
// Runs the built dist/ (npm run torture builds first). See docs/reliability.md.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type CrashResult, crashTorture } from './crash.ts';
import { type FuzzResult, fuzzTorture } from './fuzz.ts';
import { ROOT } from './lib.ts';
import { type SoakResult, soakTorture } from './soak.ts';

const PARTS = ['crash', 'fuzz', 'soak'] as const;
type Part = (typeof PARTS)[number];

let args: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      seed: { type: 'string' },
    },
  }).values;
}
try {
  args = parse();
} catch (err) {
  process.stderr.write(`usage: npm run torture -- [--quick] [--only crash|fuzz|soak] [--seed N]\n${err}\n`);
  process.exit(2);
}
const only = args.only as Part | undefined;
if (only !== undefined && !PARTS.includes(only)) {
  process.stderr.write(`--only takes crash, fuzz or soak, not ${only}\n`);
  process.exit(2);
}
const seed = args.seed === undefined ? Date.now() % 2 ** 31 : Number(args.seed);
if (!Number.isInteger(seed)) {
  process.stderr.write(`--seed takes an integer, not ${args.seed}\n`);
  process.exit(2);
}
const quick = args.quick ?? false;
const began = performance.now();
const progress = (text: string) =>
  process.stderr.write(`[${((performance.now() - began) / 1000).toFixed(0).padStart(4)} s] ${text}\n`);
const runs = (part: Part) => only === undefined || only === part;

progress(`torture ${quick ? 'quick' : 'full'}, seed ${seed}${only ? `, only ${only}` : ''}`);
let crash: CrashResult | undefined;
let fuzz: FuzzResult | undefined;
let soak: SoakResult | undefined;
if (runs('crash'))
  crash = await crashTorture({ kills: quick ? 4 : 20, lines: quick ? 5_000 : 20_000, seed, progress });
if (runs('fuzz'))
  fuzz = await fuzzTorture({
    runs: quick ? 100 : 1_000,
    lines: quick ? 300 : 3_000,
    policies: quick ? 15 : 200,
    seed,
    known: true,
    progress,
  });
if (runs('soak'))
  soak = await soakTorture({ seconds: quick ? 30 : 600, measureSeconds: quick ? 3 : 10, progress });

const results = {
  at: new Date().toISOString(),
  node: process.version,
  quick,
  seed,
  seconds: Math.round((performance.now() - began) / 1000),
  crash,
  fuzz,
  soak,
};
const out = join(ROOT, 'bench/results');
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'torture.json'), `${JSON.stringify(results, null, 2)}\n`);

const rows: [string, string, string][] = [];
let broken = 0;
const check = (name: string, value: number | string, ok: boolean, note = '') => {
  rows.push([name, String(value), ok ? note : `BROKEN ${note}`.trim()]);
  if (!ok) broken++;
};
if (crash !== undefined) {
  const t = crash.totals;
  rows.push([
    `crash: SIGKILLs (run --input / up under load)`,
    `${crash.byMode.run} / ${crash.byMode.up}`,
    '',
  ]);
  check('crash: admitted answers lost', t.admittedLost, t.admittedLost === 0, `of ${t.acked} acknowledged`);
  check('crash: ledger duplicates', t.ledgerDuplicates, t.ledgerDuplicates === 0);
  check(
    'crash: effects run before their decision was durable',
    t.effectsBeforeDurable,
    t.effectsBeforeDurable === 0,
    `of ${t.effectsRun} run`,
  );
  check(
    'crash: holds not pending after restart',
    t.holdsMissingAfterRestart,
    t.holdsMissingAfterRestart === 0,
    `of ${t.holdsPendingAtKill} pending at the kills`,
  );
  check(
    'crash: admitted work unfinished after restart',
    t.unfinishedAfterRestart,
    t.unfinishedAfterRestart === 0,
  );
  check('crash: audit verify failures (after kill, after restart)', t.verifyFailures, t.verifyFailures === 0);
  rows.push([
    'crash: effects run twice (same key, at-least-once)',
    String(t.effectsTwice),
    `of ${t.effectsRun} run`,
  ]);
}
if (fuzz !== undefined) {
  const bodies = fuzz.doors.reduce((a, d) => a + d.runs, 0);
  const five = [...fuzz.failures, ...fuzz.knownFailures].filter((f) => f.status >= 500).length;
  rows.push(['fuzz: HTTP bodies (7 doors), responses >= 500', String(five), `of ${bodies}`]);
  rows.push(['fuzz: known failures (known.ts)', String(fuzz.knownFailures.length), 'not fixed yet']);
  check(
    'fuzz: invariant failures (all doors)',
    fuzz.failures.length,
    fuzz.failures.length === 0,
    `${fuzz.decided} answered ids checked in the ledger`,
  );
  check(
    'fuzz: run --input lines without a root decision',
    fuzz.jsonl.nonBlank - fuzz.jsonl.roots,
    fuzz.failures.every((f) => f.door !== 'run --input'),
    `${fuzz.jsonl.nonBlank} of ${fuzz.jsonl.lines} lines not blank`,
  );
  rows.push([
    'fuzz: policy check exits',
    JSON.stringify(fuzz.policy.exits),
    `${fuzz.policy.runs} mesh files`,
  ]);
  rows.push([
    'fuzz: envelopes read (never throws)',
    String(fuzz.envelopes.runs),
    `${fuzz.envelopes.ok} well-formed`,
  ]);
  for (const k of fuzz.known) check(`known: ${k.name}`, k.status, k.ok, k.detail.slice(0, 60));
}
if (soak !== undefined) {
  rows.push([
    'soak: ceiling / target messages/s',
    `${soak.maxPerSecond} / ${soak.targetPerSecond}`,
    `POST /messages, ${soak.seconds} s at ${soak.achievedPerSecond}/s`,
  ]);
  check('soak: errors', soak.errors, soak.errors === 0, `${soak.sent} sent`);
  rows.push([
    'soak: RSS start / end / max MB',
    `${soak.rssStartMb} / ${soak.rssEndMb} / ${soak.rssMaxMb}`,
    `${soak.samples} samples`,
  ]);
  rows.push(['soak: RSS slope MB/min (after warm-up)', String(soak.rssSlopeMbPerMin), '']);
  check('soak: audit verify at the end', soak.verify ? 'ok' : 'failed', soak.verify);
}
const width = Math.max(...rows.map((r) => r[0].length));
for (const [name, value, note] of rows)
  process.stdout.write(`${name.padEnd(width)}  ${value.padStart(14)}  ${note}\n`);
process.stdout.write(`wrote bench/results/torture.json (${results.seconds} s, seed ${seed})\n`);
process.exitCode = broken === 0 ? 0 : 1;
