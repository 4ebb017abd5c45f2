import {
  type DriftAgentReport,
  type DriftReport,
  driftReport,
  isMeshwardenError,
  parseDriftTarget,
} from '../../runtime/index.js';
import { cliError, EXIT } from '../errors.js';
import { type LedgerPlace, openExistingLedger } from '../ledger-access.js';
import { type Output, table } from '../output.js';

export type DriftOptions = LedgerPlace & {
  readonly threshold?: number;
  readonly minSamples?: number;
};

/**
 * `drift [agent[@version]]`: each agent version's output against the version before it, from the
 * ledger (docs/drift.md). Exit 1 when anything drifted past the threshold, 0 otherwise.
 */
export async function drift(only: string | undefined, opts: DriftOptions, out: Output): Promise<number> {
  if (only !== undefined) {
    const target = parseDriftTarget(only);
    if (isMeshwardenError(target)) {
      out.fail(cliError('MW_CLI_DRIFT_AGENT', { detail: target.message }));
      return EXIT.usage;
    }
  }
  const ledger = await openExistingLedger(opts, out);
  if (ledger === undefined) return EXIT.usage;
  await using _ledger = ledger;
  let report: DriftReport;
  try {
    report = await driftReport(ledger, {
      ...(only === undefined ? {} : { only }),
      ...(opts.threshold === undefined ? {} : { threshold: opts.threshold }),
      ...(opts.minSamples === undefined ? {} : { minSamples: opts.minSamples }),
      progress: (n) => out.note(`drift: ${n} decisions and deliveries read`),
    });
  } catch (err) {
    // A name the ledger never saw is a mistake to correct, not "no drift": a usage error.
    if (!isMeshwardenError(err) || err.code !== 'MW_RUNTIME_DRIFT_UNKNOWN') throw err;
    out.fail(cliError('MW_CLI_DRIFT_AGENT', { detail: err.message }));
    return EXIT.usage;
  }
  const drifted = report.agents.some((a) => a.drifted);
  if (out.json) {
    out.document(report);
    return drifted ? EXIT.failed : EXIT.ok;
  }
  print(report, only, out);
  return drifted ? EXIT.failed : EXIT.ok;
}

function print(report: DriftReport, only: string | undefined, out: Output): void {
  if (report.agents.length === 0) {
    const who =
      only === undefined
        ? 'no agent has two versions in the ledger'
        : only.includes('@')
          ? `${only} is the first version of ${only.slice(0, only.indexOf('@'))} in the ledger, so it has no version before it`
          : `${only} has one version in the ledger`;
    out.line(
      `${who} (${report.scanned} decisions and deliveries read): nothing to compare, no drift to report`,
    );
    return;
  }
  for (const a of report.agents) {
    out.line(
      `${a.agent}@${a.version} against ${a.baseline}: ${verdictOf(a, report.minSamples)} (threshold ${report.threshold})`,
    );
    const rows = a.fields.map((f) => [
      f.type,
      f.field,
      f.metric,
      String(f.score),
      f.drifted ? 'DRIFTED' : f.enough ? '' : 'too few',
      `${f.baselineCount} → ${f.currentCount}`,
      f.baselineMean === undefined && f.currentMean === undefined
        ? ''
        : `mean ${f.baselineMean ?? '-'} → ${f.currentMean ?? '-'}`,
      f.baselineP50 === undefined && f.currentP50 === undefined
        ? ''
        : `p50 ${f.baselineP50 ?? '-'} → ${f.currentP50 ?? '-'}`,
    ]);
    for (const s of [a.fanout, a.verdicts, a.types]) {
      const shown = (v: typeof s.baseline) =>
        typeof v === 'number'
          ? String(v)
          : Object.entries(v)
              .filter(([, n]) => n > 0)
              .map(([k, n]) => `${k} ${n}`)
              .join(' ');
      rows.push([
        '*',
        `(${s.metric})`,
        s.metric,
        String(s.score),
        s.drifted ? 'DRIFTED' : s.enough ? '' : 'too few',
        `${s.baselineCount} → ${s.currentCount}`,
        `${shown(s.baseline)} → ${shown(s.current)}`,
        '',
      ]);
    }
    out.line(table([['type', 'field', 'metric', 'score', '', 'values', 'mean', 'median'], ...rows]));
    out.line();
  }
}

/**
 * DRIFTED, stable, or, when too few values were there to judge, says so: a score over too few values
 * is not evidence either way (`N of M`: the fewest values on a side, of the `minSamples` needed).
 */
function verdictOf(a: DriftAgentReport, minSamples: number): string {
  if (a.drifted) return 'DRIFTED';
  if (a.enough) return 'stable';
  const measures = [...a.fields, a.fanout, a.verdicts, a.types];
  const short = measures.filter((m) => !m.enough);
  const fewest = Math.min(...short.map((m) => Math.min(m.baselineCount, m.currentCount)));
  if (short.length === measures.length) return `not enough values to judge (${fewest} of ${minSamples})`;
  return `stable where judged; ${short.length} of ${measures.length} measures have too few values to judge (fewest ${fewest} of ${minSamples})`;
}
