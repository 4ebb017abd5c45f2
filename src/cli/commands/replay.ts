import { resolve } from 'node:path';
import {
  effectSentence,
  formatPolicyIssue,
  isMeshwardenError,
  loadPolicy,
  type ReplayChange,
  type ReplayReport,
  replayLedger,
  toolSchemaReader,
  type VerdictView,
} from '../../runtime/index.js';
import { cliError, EXIT } from '../errors.js';
import { type LedgerPlace, openExistingLedger } from '../ledger-access.js';
import { inlineText, type Output, table, terminalSafe } from '../output.js';
import { cliTransports } from '../transports.js';

export type ReplayCommandOptions = LedgerPlace & {
  readonly policy: string;
  readonly from?: string;
  readonly to?: string;
};

/** `--from` / `--to`: an ISO 8601 time or milliseconds since the epoch; undefined when neither. */
export function parseTime(text: string): number | undefined {
  if (/^\d{1,15}$/.test(text)) return Number(text);
  const ms = Date.parse(text);
  return /^\d{4}-\d{2}-\d{2}/.test(text) && Number.isFinite(ms) ? ms : undefined;
}

/**
 * `replay --policy candidate.yaml`: what the candidate would have decided on the recorded traffic.
 * Exit 0 whatever changed (a report), 1 for a candidate that does not load or is another mesh's, 2
 * for usage mistakes (a time that does not parse, no ledger).
 */
export async function replay(o: ReplayCommandOptions, out: Output): Promise<number> {
  const times: { from?: number; to?: number } = {};
  for (const which of ['from', 'to'] as const) {
    const text = o[which];
    if (text === undefined) continue;
    const ms = parseTime(text);
    if (ms === undefined) {
      out.fail(cliError('MW_CLI_BAD_TIME', { option: `--${which}`, text, example: '2026-12-03T10:00:00Z' }));
      return EXIT.usage;
    }
    times[which] = ms;
  }
  if (times.from !== undefined && times.to !== undefined && times.from >= times.to) {
    out.fail(
      cliError('MW_CLI_BAD_WINDOW', {
        from: new Date(times.from).toISOString(),
        to: new Date(times.to).toISOString(),
      }),
    );
    return EXIT.usage;
  }
  await using transports = cliTransports();
  const readToolSchema = toolSchemaReader(transports.list);
  const loaded = await loadPolicy(resolve(o.policy), readToolSchema === undefined ? {} : { readToolSchema });
  if (!loaded.ok) {
    // The file as its issues name it (the full path).
    if (out.json) out.document({ ok: false, file: resolve(o.policy), issues: loaded.issues });
    else
      for (const issue of loaded.issues) process.stdout.write(`${terminalSafe(formatPolicyIssue(issue))}\n`);
    out.note(`the candidate policy ${o.policy} has ${loaded.issues.length} mistake(s); nothing was replayed`);
    return EXIT.failed;
  }
  const ledger = await openExistingLedger(o, out);
  if (ledger === undefined) return EXIT.usage;
  await using _ledger = ledger;
  const started = Date.now();
  const report = await replayLedger(ledger, loaded.policy, {
    ...times,
    progress: (done, total) => {
      if (Date.now() - started > 1000 && done < total) out.note(`replay: ${done} of ${total} entries`);
    },
  });
  if (isMeshwardenError(report)) {
    out.fail(report);
    return EXIT.failed;
  }
  if (out.json) out.document(report);
  else printReport(report, out);
  return EXIT.ok;
}

const VERDICTS = ['deliver', 'hold', 'deny', 'quarantine'] as const;
/** Changes printed for people; `--json` has them all. */
const SHOWN = 50;
/** Messages that would not have happened, printed for people. */
const SHOWN_CUT = 20;

/** The report for people: the matrix, each change, the effects that would not have run, the breakers. */
export function printReport(r: ReplayReport, out: Output): void {
  const same = r.sameAsRecorded ? ' (the recorded policy itself)' : '';
  out.line(`replay of mesh ${r.mesh} under ${r.candidate.file}${same}`);
  out.line(
    `candidate ${r.candidate.digest}; recorded under ${r.recordedPolicies.join(', ') || 'no policy.loaded entry'}`,
  );
  out.line(
    `${r.decisions} decisions decided again, ${changedText(r)}, ${r.suppressedTotal} would not have happened${r.delayedTotal > 0 ? `, ${r.delayedTotal} delayed (their future unknown)` : ''}`,
  );
  out.line();
  out.line('recorded ↓ / candidate →');
  const header = ['', ...VERDICTS];
  const rows = VERDICTS.map((rec) => [rec, ...VERDICTS.map((c) => String(r.matrix[`${rec}→${c}`] ?? 0))]);
  out.line(table([header, ...rows]));
  if (r.changes.length > 0) {
    out.line();
    out.line('changed:');
    for (const c of r.changes.slice(0, SHOWN)) out.line(changeText(c));
    if (r.changed > SHOWN)
      out.line(`… and ${r.changed - SHOWN} more (${listed(r.changed, r.changes.length, r.limit)})`);
  }
  if (r.wouldNotHappen.length > 0) {
    out.line();
    out.line(`would not have happened (their cause was refused or held): ${r.suppressedTotal}`);
    for (const m of r.wouldNotHappen.slice(0, SHOWN_CUT))
      out.line(
        inlineText(
          `  ${m.id} ${m.gated === 'effect' ? 'effect ' : ''}${m.type} for ${m.subject} at ${new Date(m.at).toISOString()}`,
        ),
      );
    if (r.suppressedTotal > SHOWN_CUT)
      out.line(
        `  … and ${r.suppressedTotal - SHOWN_CUT} more (${listed(r.suppressedTotal, r.wouldNotHappen.length, r.limit)})`,
      );
  }
  out.line();
  if (r.effects.wouldNotRun === 0) out.line('effects that would not have run: none');
  else {
    out.line(`effects that would not have run: ${r.effects.wouldNotRun}`);
    for (const [type, t] of Object.entries(r.effects.byType))
      for (const [subject, s] of Object.entries(t.bySubject))
        out.line(`  ${inlineText(effectSentence(type, subject, s))}`);
  }
  if (r.effects.wouldRun > 0) {
    out.line(
      `effects the candidate admits that did not run (not re-run, what follows is unknown): ${r.effects.wouldRun}`,
    );
    for (const [type, t] of Object.entries(r.effects.wouldRunByType))
      for (const [subject, s] of Object.entries(t.bySubject))
        out.line(`  ${inlineText(effectSentence(type, subject, s))}`);
  }
  const b = r.breakers;
  const opening = (x: (typeof b.candidate)[number]) =>
    `${x.id} for ${x.key} at ${new Date(x.at).toISOString()} (${x.action})`;
  const compared = (x: (typeof b.candidate)[number]) =>
    x.recordedAt === undefined
      ? `${opening(x)}, not in the recording`
      : `${opening(x)}, in the recording at ${new Date(x.recordedAt).toISOString()}`;
  // What the candidate changes: openings the recording did not have, or had at another time.
  const changed = b.candidate.filter((x) => x.recordedAt !== x.at);
  const atSame = b.candidate.filter((x) => x.recordedAt === x.at);
  out.line(
    `breakers that would have opened: ${changed.length === 0 ? 'none' : changed.map(compared).join('; ')}`,
  );
  if (atSame.length > 0)
    out.line(`also opened in the recording, at the same moment: ${atSame.map(opening).join('; ')}`);
  if (b.wouldNotOpen.length > 0)
    out.line(`opened in the recording, not under the candidate: ${b.wouldNotOpen.map(opening).join('; ')}`);
  const alarm = (a: (typeof r.drift.candidate)[number]) =>
    `${a.monitor} on ${a.agent} ${a.field} (${a.metric} ${a.score.toFixed(2)} ≥ ${a.threshold}) at ${new Date(a.at).toISOString()}`;
  if (r.drift.candidate.length + r.drift.recorded.length > 0) {
    out.line(`drift alarms under the candidate: ${r.drift.candidate.map(alarm).join('; ') || 'none'}`);
    out.line(`drift alarms in the recording: ${r.drift.recorded.map(alarm).join('; ') || 'none'}`);
  }
  if (r.kept.runtimeFacts + r.kept.noEnvelope > 0)
    out.line(
      `kept as recorded: ${r.kept.runtimeFacts} runtime facts (taken ids, false claims, late emits, failed reply mappings), ${r.kept.noEnvelope} inputs without an envelope`,
    );
  if (r.versionsAdopted.length > 0)
    out.line(
      `decided as if the candidate registered the agent versions that ran: ${r.versionsAdopted.join(', ')}`,
    );
  if (r.pilot.moot > 0)
    out.line(
      `pilot inputs with nothing to act on under the candidate: ${r.pilot.moot} of ${r.pilot.replayed}`,
    );
}

/** "5 changed: 0 first decisions, 5 hold outcomes" (the matrix counts first decisions only). */
/** What `--json` lists of `total`: all of them, or the first `limit`. */
function listed(total: number, kept: number, limit: number): string {
  return total > kept ? `--json lists the first ${limit}` : '--json lists them all';
}

export function changedText(r: Pick<ReplayReport, 'changed' | 'changedReleases'>): string {
  const releases = r.changedReleases;
  if (releases === 0) return `${r.changed} changed`;
  return `${r.changed} changed: ${r.changed - releases} first decisions, ${releases} hold outcomes`;
}

function changeText(c: ReplayChange): string {
  const what =
    c.kind === 'release'
      ? `release of ${c.gated === 'effect' ? 'effect ' : ''}${c.type}`
      : `${c.gated === 'effect' ? 'effect ' : ''}${c.type}`;
  const lines = [
    `${c.id} ${what} for ${c.subject} at ${new Date(c.at).toISOString()}: ${c.recorded.verdict} → ${c.candidate.verdict}`,
    `  recorded:  ${side(c.recorded)}`,
    `  candidate: ${side(c.candidate)}`,
  ];
  if (c.suppressed > 0) lines.push(`  ${c.suppressed} recorded message(s) after it would not have happened`);
  if (c.followUnknown === true)
    lines.push('  admitted now: agents are not re-run, so what would follow is unknown');
  // Each line from the ledger stays one line: a line break in a subject or reason is shown.
  return lines.map(inlineText).join('\n');
}

function side(v: VerdictView): string {
  const rule = v.rule === undefined ? '' : ` rule ${v.rule}`;
  return `${v.verdict} at ${v.stage}${rule}: ${v.reason}${v.detail === undefined ? '' : ` (${v.detail})`}`;
}
