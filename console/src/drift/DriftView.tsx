import { useEffect, useState } from 'preact/hooks';
import type { DriftReport } from '../api/drift-types.js';
import { usePolled } from '../api/use-polled.js';
import { Term } from '../glossary/Term.js';
import { ApiErrorNotice } from '../shell/ApiErrorNotice.js';
import { timeText } from '../shell/time-text.js';
import { MonitorList } from './MonitorList.js';
import { VersionCard } from './VersionCard.js';

/**
 * Output drift: each agent version against the one before it, and the live monitors. The report
 * scans the ledger, so it is read when the view opens and on "Refresh", never polled.
 */
export function DriftView() {
  const report = usePolled<DriftReport>('/drift', 0);
  const [asOf, setAsOf] = useState<number>();
  const [agent, setAgent] = useState('');
  const [loading, setLoading] = useState(true);
  useEffect(() => {
    if (report.data !== undefined || report.error !== undefined) {
      setAsOf(Date.now());
      setLoading(false);
    }
  }, [report.data, report.error]);
  const data = report.data;
  const agents = [
    ...new Set([...(data?.agents.map((v) => v.agent) ?? []), ...(data?.monitors?.map((m) => m.agent) ?? [])]),
  ].sort();
  const monitors = (data?.monitors ?? []).filter((m) => agent === '' || m.agent === agent);
  const versions = (data?.agents ?? [])
    .filter((v) => agent === '' || v.agent === agent)
    .sort((a, b) => Number(b.drifted) - Number(a.drifted));
  return (
    <section class="view" data-testid="drift-view">
      <header class="view-header">
        <h2>Drift</h2>
        <p class="hint">
          Each agent version's output compared with its <Term id="baseline">baseline</Term> (the version
          before it): how its fields' values are spread, how many messages it sends per message it gets, and
          the verdicts they get. A <Term id="psi">PSI</Term> at or over the threshold means the version{' '}
          <Term id="drift">drifted</Term>: it behaves differently, even if every message still fits its
          contract.
        </p>
      </header>
      <p class="drift-toolbar">
        <button
          type="button"
          onClick={() => {
            setLoading(true);
            report.refresh();
          }}
          disabled={loading}
          data-testid="drift-refresh"
        >
          {loading ? 'Reading the ledger…' : 'Refresh'}
        </button>{' '}
        {asOf !== undefined && (
          <span class="muted" data-testid="drift-as-of">
            as of {timeText(asOf)}
            {data && `, over ${data.scanned} decisions and deliveries in the ledger`}
          </span>
        )}
      </p>
      <ApiErrorNotice error={report.error} />
      {data === undefined && report.error === undefined && <p class="muted">Reading the ledger…</p>}
      {data && (
        <>
          {agents.length > 0 && (
            <label class="drift-filter">
              Agent{' '}
              <select
                value={agent}
                onChange={(e) => setAgent(e.currentTarget.value)}
                data-testid="drift-agent"
              >
                <option value="">every agent</option>
                {agents.map((a) => (
                  <option key={a} value={a}>
                    {a}
                  </option>
                ))}
              </select>
            </label>
          )}
          <h3>Live monitors</h3>
          <MonitorList monitors={monitors} agent={agent} />
          <h3>Agent versions</h3>
          {versions.length === 0 ? (
            <p class="empty" data-testid="drift-empty">
              {agent === '' ? 'No agent has' : `${agent} has not`} run two versions yet, so there is nothing
              to compare: a new version's output is compared with the one before it once both have sent at
              least {data.minSamples} messages.
            </p>
          ) : (
            versions.map((v) => <VersionCard key={`${v.agent}@${v.version}`} version={v} />)
          )}
        </>
      )}
    </section>
  );
}
