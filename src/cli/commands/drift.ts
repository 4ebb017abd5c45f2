import { type DriftReport, driftReport } from '../../runtime/index.js';
import { EXIT } from '../errors.js';
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
  const ledger = await openExistingLedger(opts, out);
  if (ledger === undefined) return EXIT.usage;
  await using _ledger = ledger;
  const report = await driftReport(ledger, {
    ...(only === undefined ? {} : { only }),
    ...(opts.threshold === undefined ? {} : { threshold: opts.threshold }),
    ...(opts.minSamples === undefined ? {} : { minSamples: opts.minSamples }),
    progress: (n) => out.note(`drift: ${n} entries read`),
  });
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
    const who = only === undefined ? 'no agent has' : `${only} does not have`;
    out.line(
      `${who} two versions in the ledger to compare (${report.scanned} entries read): no drift to report`,
    );
    return;
  }
  for (const a of report.agents) {
    const verdict = a.drifted ? 'DRIFTED' : 'stable';
    out.line(`${a.agent}@${a.version} against ${a.baseline}: ${verdict} (threshold ${report.threshold})`);
    const rows = a.fields.map((f) => [
      f.type,
      f.field,
      f.metric,
      String(f.score),
      f.drifted ? 'DRIFTED' : '',
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
        s.drifted ? 'DRIFTED' : '',
        '',
        `${shown(s.baseline)} → ${shown(s.current)}`,
        '',
      ]);
    }
    out.line(table([['type', 'field', 'metric', 'score', '', 'values', 'mean', 'median'], ...rows]));
    out.line();
  }
}
