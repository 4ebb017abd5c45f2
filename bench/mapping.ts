// npm run bench:mapping [-- --quick]: the mapping language of flowise and http agents (issue 15),
// JSONata against CEL (@marcbachmann/cel-js, the approvals' language) on one typical reply
// mapping: compile time, and evaluation per call. JSONata is measured bare and as Meshwarden runs
// it (compileMapping: the template walk, the step-counting hook, the JSON and size checks).
// Writes bench/results/mapping.json. Runs on the built dist/ (the script builds first).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Environment } from '@marcbachmann/cel-js';
import jsonata from 'jsonata';
import { compileMapping, REPLY_NAMES } from '../dist/policy/index.js';
import { quantile, round } from './stats.ts';

const QUICK = process.argv.includes('--quick');
const COMPILES = QUICK ? 500 : 5_000;
const CALLS = QUICK ? 5_000 : 50_000;

/** A Flowise answer whose JSON the flow produced, as the reply context holds it. */
const context = {
  text: '{"label":"billing","account":{"id":"acct-8841","tier":"gold"},"reason":"refund asked"}',
  json: { label: 'billing', account: { id: 'acct-8841', tier: 'gold' }, reason: 'refund asked' },
  status: 200,
  message: { id: '0190a0b0-0000-7000-8000-000000000001', subject: 'account:8841', data: { text: 'refund?' } },
};

/** The same reply in both languages: four fields, one string extraction, one object built. */
const template = {
  label: '{{ json.label }}',
  account: '{{ json.account.id }}',
  tier: '{{ $uppercase(json.account.tier) }}',
  ref: '{{ $substringAfter(json.account.id, "-") }}',
  summary: '{{ json.label & ": " & json.reason }}',
};
const jsonataWhole =
  '{ "label": json.label, "account": json.account.id, "tier": $uppercase(json.account.tier), "ref": $substringAfter(json.account.id, "-"), "summary": json.label & ": " & json.reason }';
// CEL differs where a mapping needs it: a missing field is an error ("No such key"), not an omitted
// member (has() or optional types on each); `"n=" + 1` has no overload (string() each value).
const celWhole =
  '{"label": json.label, "account": json.account.id, "tier": json.account.tier.upperAscii(), "ref": json.account.id.split("-")[1], "summary": json.label + ": " + json.reason}';

// Without homogeneousAggregateLiterals: false, CEL refuses this map: a dyn field and a string
// concatenation are values of different types in one literal.
const env = new Environment({ unlistedVariablesAreDyn: true, homogeneousAggregateLiterals: false });

async function timed(n: number, run: () => unknown): Promise<Record<string, number>> {
  const samples = new Float64Array(n);
  for (let i = 0; i < Math.min(n, 1_000); i++) await run(); // warm-up (n itself when it is small)
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await run();
    samples[i] = (performance.now() - t0) * 1_000;
  }
  samples.sort();
  const mean = samples.reduce((a, b) => a + b, 0) / n;
  return {
    meanUs: round(mean, 2),
    p50Us: round(quantile(samples, 0.5), 2),
    p99Us: round(quantile(samples, 0.99), 2),
  };
}

const progress = (text: string) => process.stderr.write(`${text}\n`);
progress(`mapping: ${COMPILES} compiles and ${CALLS} evaluations per language …`);

const mapping = compileMapping(template, REPLY_NAMES);
if ('issues' in mapping) throw new Error(JSON.stringify(mapping.issues));
const bare = jsonata(jsonataWhole);
const cel = env.parse(celWhole);
const check = [await mapping.evaluate(context), await bare.evaluate(context), cel(context)];
progress(JSON.stringify(check));

// The worst a mapping can cost: one that never ends runs to the step budget, then fails.
const endless = compileMapping('{{ ($f := function($x){ $f($x) }; $f(1)) }}', REPLY_NAMES);
if ('issues' in endless) throw new Error(JSON.stringify(endless.issues));

const results = {
  at: new Date().toISOString(),
  node: process.version,
  quick: QUICK,
  compile: {
    meshwardenTemplate: await timed(COMPILES, () => compileMapping(template, REPLY_NAMES)),
    jsonataWhole: await timed(COMPILES, () => jsonata(jsonataWhole)),
    celWhole: await timed(COMPILES, () => env.parse(celWhole)),
  },
  evaluate: {
    meshwardenTemplate: await timed(CALLS, () => mapping.evaluate(context)),
    jsonataWhole: await timed(CALLS, () => bare.evaluate(context)),
    celWhole: await timed(CALLS, () => cel(context)),
  },
  stepBudget: await timed(QUICK ? 5 : 20, () => endless.evaluate(context)),
};
process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
const dir = join(import.meta.dirname, 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'mapping.json'), `${JSON.stringify(results, null, 2)}\n`);
