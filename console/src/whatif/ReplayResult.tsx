import type {
  ReplayBreaker,
  ReplayChange,
  ReplayEffects,
  ReplayReport,
  ReplayVerdict,
} from '../api/types.js';
import { href } from '../shell/route.js';
import { timeText } from '../shell/time-text.js';
import { reasonWords } from '../shell/words.js';

const VERDICTS = ['deliver', 'hold', 'deny', 'quarantine'] as const;
/** Changes shown; the report has them all. */
const SHOWN = 200;
const WORDS: Record<string, string> = {
  deliver: 'delivered',
  hold: 'held',
  deny: 'denied',
  quarantine: 'quarantined',
};

/** A replay's report: the verdict matrix, each change, what would not have happened, effects, breakers. */
export function ReplayResult({ report: r }: { report: ReplayReport }) {
  return (
    <div class="whatif-result" data-testid="whatif-result" data-changed={r.changed}>
      <p class="notice info" role="status" data-testid="whatif-summary">
        {r.decisions} recorded decisions decided again: <strong>{r.changed} would change</strong>
        {(r.changedReleases ?? 0) > 0 &&
          ` (${r.changed - (r.changedReleases ?? 0)} first decisions, ${r.changedReleases} hold outcomes: the matrix counts first decisions only)`}
        , {r.suppressedTotal ?? r.suppressed.length} messages would not have happened.
        {r.sameAsRecorded && ' This is the policy the traffic was recorded under.'}
      </p>
      {r.versionsAdopted.length > 0 && (
        <p class="hint" data-testid="whatif-versions">
          Messages from agent versions this policy does not name ({r.versionsAdopted.join(', ')}) were decided
          as if it named them: an agent's version is what ran, not what the policy decides.
        </p>
      )}
      <h3>Recorded verdict → what the candidate decides</h3>
      <table class="table matrix" data-testid="whatif-matrix">
        <thead>
          <tr>
            <th>recorded ↓ / candidate →</th>
            {VERDICTS.map((v) => (
              <th key={v}>{WORDS[v]}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {VERDICTS.map((rec) => (
            <tr key={rec}>
              <th>{WORDS[rec]}</th>
              {VERDICTS.map((c) => {
                const n = r.matrix[`${rec}→${c}`] ?? 0;
                return (
                  <td key={c} class={rec !== c && n > 0 ? 'changed' : ''} data-cell={`${rec}→${c}`}>
                    {n}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Changed decisions</h3>
      {r.changes.length === 0 ? (
        <p class="empty">No decision would change.</p>
      ) : (
        <table class="table" data-testid="whatif-changes">
          <thead>
            <tr>
              <th>message</th>
              <th>at</th>
              <th>recorded</th>
              <th>candidate</th>
            </tr>
          </thead>
          <tbody>
            {r.changes.slice(0, SHOWN).map((c) => (
              <ChangeRow key={`${c.kind}${c.id}`} change={c} />
            ))}
          </tbody>
        </table>
      )}
      {r.changes.length > SHOWN && (
        <p class="hint" data-testid="whatif-more">
          … and {r.changes.length - SHOWN} more changes; the API's answer (POST /api/v1/replay) lists them
          all.
        </p>
      )}
      <h3>Effects that would not have run</h3>
      <EffectList effects={r.effects.byType} testid="whatif-effects" empty="None." />
      {r.effects.wouldRun > 0 && (
        <>
          <h3>Effects the candidate admits that did not run</h3>
          <p class="hint">Agents and executors are not run again: what would follow them is unknown.</p>
          <EffectList effects={r.effects.wouldRunByType} testid="whatif-effects-new" empty="None." />
        </>
      )}
      <h3>Breakers that would have opened</h3>
      <BreakerList
        breakers={r.breakers.candidate.filter((b) => b.recordedAt !== b.at)}
        testid="whatif-breakers"
      />
      {r.breakers.candidate.some((b) => b.recordedAt === b.at) && (
        <>
          <p class="hint">Also opened in the recording, at the same moment:</p>
          <BreakerList
            breakers={r.breakers.candidate.filter((b) => b.recordedAt === b.at)}
            testid="whatif-breakers-same"
          />
        </>
      )}
      {r.breakers.wouldNotOpen.length > 0 && (
        <>
          <h3>Breakers that opened, and would not have</h3>
          <BreakerList breakers={r.breakers.wouldNotOpen} testid="whatif-breakers-not" />
        </>
      )}
      {r.drift.candidate.length + r.drift.recorded.length > 0 && (
        <>
          <h3>Drift alarms</h3>
          <ul data-testid="whatif-drift">
            {r.drift.candidate.map((a) => {
              const then = r.drift.recorded.find(
                (x) => x.monitor === a.monitor && x.agent === a.agent && x.field === a.field,
              );
              return (
                <li key={`${a.monitor}${a.agent}${a.field}`}>
                  <span class="code">{a.monitor}</span> on {a.agent} {a.field} at <Time at={a.at} />
                  {then === undefined ? (
                    <strong> — not in the recording</strong>
                  ) : (
                    then.at !== a.at && (
                      <span class="muted">
                        {' '}
                        (in the recording at <Time at={then.at} />)
                      </span>
                    )
                  )}
                </li>
              );
            })}
          </ul>
        </>
      )}
      {r.suppressed.length > 0 && (
        <details data-testid="whatif-suppressed">
          <summary>
            {r.suppressedTotal ?? r.suppressed.length} recorded messages would not have happened
            {(r.suppressedTotal ?? 0) > r.suppressed.length
              ? ` (the first ${r.suppressed.length} listed)`
              : ''}
          </summary>
          <ul>
            {(
              r.wouldNotHappen ?? r.suppressed.map((id) => ({ id, type: '', subject: '', gated: '', at: 0 }))
            ).map((m) => (
              <li key={m.id}>
                <a href={href.message(m.id)} class={m.type === '' ? 'code' : ''}>
                  {m.type === '' ? m.id : `${m.gated === 'effect' ? 'effect ' : ''}${m.type}`}
                </a>
                {m.subject !== '' && ` for ${m.subject}`}
                {m.at > 0 && (
                  <>
                    {' '}
                    at <Time at={m.at} />
                  </>
                )}
              </li>
            ))}
          </ul>
        </details>
      )}
    </div>
  );
}

function ChangeRow({ change: c }: { change: ReplayChange }) {
  return (
    <tr data-testid="whatif-change" data-subject={c.subject} data-type={c.type}>
      <td>
        <a href={href.message(c.id)}>
          {c.gated === 'effect' ? 'effect ' : ''}
          {c.type}
        </a>{' '}
        for {c.subject}
        {c.kind === 'release' && <div class="muted small">the release of its hold</div>}
        {(c.suppressed ?? 0) > 0 && (
          <div class="muted small">{c.suppressed} messages after it would not have happened</div>
        )}
        {c.followUnknown === true && (
          <div class="muted small">
            admitted now: agents are not run again, so what would follow is unknown
          </div>
        )}
      </td>
      <td data-testid="whatif-change-at">
        <Time at={c.at} />
      </td>
      <td>
        <Side v={c.recorded} />
      </td>
      <td data-testid="whatif-candidate">
        <Side v={c.candidate} />
      </td>
    </tr>
  );
}

function Side({ v }: { v: ReplayVerdict }) {
  return (
    <>
      <span class={`verdict verdict-${v.verdict}`} data-verdict={v.verdict}>
        {WORDS[v.verdict] ?? v.verdict}
      </span>{' '}
      <span data-testid="whatif-reason" data-reason={v.reason} data-stage={v.stage}>
        {reasonWords(v.reason, v.stage, v.rule)}
      </span>
      {v.rule !== undefined && <span class="code small"> {v.rule}</span>}
      {v.detail !== undefined && <div class="muted small">{v.detail}</div>}
    </>
  );
}

function EffectList({ effects, testid, empty }: { effects: ReplayEffects; testid: string; empty: string }) {
  const rows = Object.entries(effects).flatMap(([type, t]) =>
    Object.entries(t.bySubject).map(([subject, s]) => ({ type, subject, s })),
  );
  if (rows.length === 0) return <p class="empty">{empty}</p>;
  return (
    <ul data-testid={testid}>
      {rows.map(({ type, subject, s }) => {
        const unit = Object.values(s.units).join(' ');
        const sums = Object.entries(s.sums)
          .map(([k, n]) => `${k} ${n}${unit === '' ? '' : ` ${unit}`}`)
          .join(', ');
        return (
          <li key={`${type}${subject}`} data-subject={subject} data-type={type}>
            {s.count} × <span class="code">{type}</span> for {subject}
            {sums !== '' && `: ${sums}`}
          </li>
        );
      })}
    </ul>
  );
}

function BreakerList({ breakers, testid }: { breakers: ReplayBreaker[]; testid: string }) {
  if (breakers.length === 0)
    return (
      <p class="empty" data-testid={testid}>
        None.
      </p>
    );
  return (
    <ul data-testid={testid}>
      {breakers.map((b) => (
        <li key={`${b.id}|${b.key}`} data-breaker={b.id} data-key={b.key}>
          <span class="code">{b.id}</span> for {b.key} ({b.action === 'freeze' ? 'freezes' : 'denies'}) at{' '}
          <Time at={b.at} />
          {testid === 'whatif-breakers' && b.recordedAt === undefined && (
            <strong> — not in the recording</strong>
          )}
          {b.recordedAt !== undefined && b.recordedAt !== b.at && (
            <span class="muted" data-testid="whatif-breaker-recorded">
              {' '}
              (in the recording at <Time at={b.recordedAt} />)
            </span>
          )}
        </li>
      ))}
    </ul>
  );
}

/** A time as the rest of the console shows it (time-text.ts), with the ISO time on hover. */
function Time({ at }: { at: number }) {
  return (
    <time dateTime={new Date(at).toISOString()} title={new Date(at).toISOString()}>
      {timeText(at)}
    </time>
  );
}
