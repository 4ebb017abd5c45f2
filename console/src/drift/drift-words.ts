import type { DriftBins, DriftField, DriftMonitor, DriftVersion } from '../api/drift-types.js';
import { spanText } from '../shell/time-text.js';

/** A number as a pilot reads it: at most 3 significant digits, no exponent for everyday sizes. */
export function num(v: number | undefined | null): string {
  if (v === undefined || v === null) return '—';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-3) return v.toExponential(1);
  return String(Number(v.toPrecision(3)));
}

/** A share as a percentage. */
export function pct(share: number): string {
  return `${Number((share * 100).toPrecision(3))} %`;
}

const METRIC: Record<string, string> = {
  psi: 'PSI',
  mean: 'mean shift (σ)',
  category: 'category PSI',
  structure: 'type-mix PSI',
  fanout: 'fan-out change',
  verdicts: 'verdict-mix PSI',
  types: 'message-type PSI',
};

export function metricWord(metric: string): string {
  return METRIC[metric] ?? metric;
}

/** "optimizer 2.1.0 drifted from 2.0.0 on /deltaPct: PSI 3.37, over 0.2". */
export function headline(v: DriftVersion): string {
  const who = `${v.agent} ${v.version}`;
  if (v.baseline === undefined) return `${who} has no earlier version to compare with.`;
  const drifted = driftedParts(v);
  if (drifted.length === 0) return `${who} behaves like ${v.baseline}: no field drifted.`;
  const [first] = drifted;
  const more =
    drifted.length > 1
      ? ` (also: ${drifted
          .slice(1)
          .map((d) => d.what)
          .join(', ')})`
      : '';
  return `${who} drifted from ${v.baseline} on ${first!.what}: ${metricWord(first!.metric)} ${num(first!.score)}, over ${num(first!.threshold)}${more}.`;
}

/**
 * What drifted: fields, highest score first, then fan-out, verdict mix and type mix (a frozen version's
 * verdict mix drifts because it was frozen: the field that froze it leads).
 */
export function driftedParts(
  v: DriftVersion,
): { what: string; metric: string; score: number; threshold: number }[] {
  type Part = { what: string; metric: string; score: number; threshold: number };
  const part = (what: string, s: { metric: string; score: number; threshold: number }): Part => ({
    what,
    metric: s.metric,
    score: s.score,
    threshold: s.threshold,
  });
  const parts = v.fields
    .filter((f) => f.drifted)
    .sort((a, b) => b.score - a.score)
    .map((f) => part(f.field, f));
  if (v.fanout?.drifted) parts.push(part('fan-out', v.fanout));
  if (v.verdicts?.drifted) parts.push(part('verdict mix', v.verdicts));
  if (v.types?.drifted) parts.push(part('message types', v.types));
  return parts;
}

/** Drifted fields first, highest score first, then the quiet ones. */
export function fieldsInOrder(fields: DriftField[]): DriftField[] {
  return [...fields].sort((a, b) => Number(b.drifted) - Number(a.drifted) || b.score - a.score);
}

/** Each bin's label: its edges (`< -1.6`, `0.5 – 1.2`, `≥ 2`) or its category. */
export function binLabels(bins: DriftBins): string[] {
  if (bins.labels !== undefined) return bins.labels;
  return (bins.edges ?? []).map(([low, high]) => {
    if (low === null && high === null) return 'any';
    if (low === null) return `< ${num(high)}`;
    if (high === null) return `≥ ${num(low)}`;
    return `${num(low)} – ${num(high)}`;
  });
}

function baselineRuleWords(rule: string): string {
  if (rule === 'previous') return 'the version before it';
  if (rule.startsWith('version:')) return `version ${rule.slice('version:'.length)}`;
  if (rule.startsWith('window:'))
    return `all versions over the last ${spanText(Number(rule.slice('window:'.length)))}`;
  return rule;
}

const ACTION: Record<string, string> = {
  alert: 'raises an alarm',
  freeze: 'raises an alarm and freezes the agent (its output is held for a pilot)',
  deny: 'raises an alarm and denies the agent’s output',
};

/** The monitor's rule in one sentence. */
export function monitorSentence(m: DriftMonitor): string {
  const fields = m.fields.join(', ');
  return (
    `Watches ${m.agent}'s ${m.type} messages (${fields}) over the last ${spanText(m.windowMs)}, ` +
    `against ${baselineRuleWords(m.baselineRule)}; when a score reaches ${num(m.threshold)} ` +
    `after at least ${m.minSamples} values it ${ACTION[m.action] ?? m.action}.`
  );
}

/** The monitor's evaluation now, in words. */
export function evaluationSentence(m: DriftMonitor): string {
  const e = m.evaluation;
  if (e === null) return `${m.agent} ${m.version} has no baseline yet: nothing to compare with.`;
  const score = `${metricWord(e.metric)} ${num(e.score)} on ${e.field}`;
  const against = `${m.agent} ${m.version} against ${e.baseline.startsWith('window:') ? baselineRuleWords(e.baseline) : e.baseline}`;
  if (!e.enough) return `${against}: too few values yet (${score} so far, ${m.minSamples} needed).`;
  return e.over
    ? `${against}: ${score}, at or over ${num(m.threshold)}.`
    : `${against}: ${score}, under ${num(m.threshold)}.`;
}
