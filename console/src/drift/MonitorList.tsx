import type { DriftMonitor } from '../api/drift-types.js';
import { Term } from '../glossary/Term.js';
import { href } from '../shell/route.js';
import { spanText, timeText } from '../shell/time-text.js';
import { BinChart } from './BinChart.js';
import { evaluationSentence, metricWord, monitorSentence, num } from './drift-words.js';

/** The policy's live drift monitors: the rule, how it scores now, its breaker and its alarms. */
export function MonitorList({ monitors, agent }: { monitors: DriftMonitor[]; agent: string }) {
  if (monitors.length === 0) {
    return (
      <p class="empty" data-testid="drift-no-monitors">
        {agent === '' ? 'The policy in force has no drift monitor' : `No drift monitor watches ${agent}`}:
        drift is only reported here, nothing is stopped by it.
      </p>
    );
  }
  return (
    <div class="drift-monitors">
      {monitors.map((m) => (
        <article key={m.id} class="card" data-testid="drift-monitor" data-monitor={m.id}>
          <h4>
            Monitor <span class="code">{m.id}</span>
          </h4>
          <p data-testid="drift-monitor-rule">{monitorSentence(m)}</p>
          <p data-testid="drift-monitor-evaluation">Now: {evaluationSentence(m)}</p>
          <MonitorWindow monitor={m} />
          {m.breakerOpen ? (
            <p class="notice error" data-testid="drift-monitor-breaker" data-open="true">
              Its <Term id="breaker">breaker</Term> is open on {m.agent}.{' '}
              <a href="#/breakers" data-testid="drift-breakers-link">
                Reset it in Breakers &amp; frozen
              </a>{' '}
              once the drift is understood.
            </p>
          ) : (
            <p class="muted" data-testid="drift-monitor-breaker" data-open="false">
              Its breaker is closed.
            </p>
          )}
          {m.alarms.length === 0 ? (
            <p class="muted">No alarm raised.</p>
          ) : (
            <ul class="drift-alarms">
              {m.alarms.map((a) => (
                <li key={`${a.at} ${a.agent} ${a.field}`} data-testid="drift-alarm" data-agent={a.agent}>
                  {timeText(a.at)}: {a.summary ?? `${a.agent} drifted on ${a.field}`}{' '}
                  {a.msgId !== undefined && (
                    <a href={href.message(a.msgId)} data-testid="drift-alarm-lineage">
                      the message that raised it
                    </a>
                  )}
                </li>
              ))}
            </ul>
          )}
        </article>
      ))}
    </div>
  );
}

/** What the monitor compares now: its baseline against the version's last window, field by field, folded. */
function MonitorWindow({ monitor: m }: { monitor: DriftMonitor }) {
  const e = m.evaluation;
  if (e === null) return null;
  const baseline = e.baseline.startsWith('window:')
    ? `last ${spanText(Number(e.baseline.slice(7)))}`
    : e.baseline;
  const current = `${m.version}, last ${spanText(m.windowMs)}`;
  return (
    <details data-testid="drift-monitor-window">
      <summary>What it compares now, charted</summary>
      {e.fields.map((f) => (
        <div key={f.field}>
          <p>
            <span class="code">{f.field}</span>: {metricWord(f.metric ?? '')} {num(f.score)} over{' '}
            {f.baselineCount ?? 0} and {f.currentCount ?? 0} values
          </p>
          {f.bins !== undefined && f.bins.baseline.length > 0 && (
            <BinChart bins={f.bins} title={`${m.id}: ${f.field}`} baseline={baseline} current={current} />
          )}
        </div>
      ))}
    </details>
  );
}
