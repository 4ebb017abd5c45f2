import type { DriftScore, DriftVersion } from '../api/drift-types.js';
import { fieldsInOrder, headline, metricWord, num, pct } from './drift-words.js';
import { FieldCard } from './FieldCard.js';

/** One agent version against its baseline: the headline, drifted fields charted, quiet ones folded. */
export function VersionCard({ version: v }: { version: DriftVersion }) {
  const ordered = fieldsInOrder(v.fields);
  const drifted = ordered.filter((f) => f.drifted);
  const quiet = ordered.filter((f) => !f.drifted);
  const baseline = v.baseline ?? '—';
  return (
    <article
      class={`card drift-version ${v.drifted ? 'drifted' : ''}`}
      data-testid="drift-version"
      data-agent={v.agent}
      data-version={v.version}
      data-drifted={v.drifted}
    >
      <h4 data-testid="drift-headline">{headline(v)}</h4>
      {v.baseline !== undefined && (
        <table class="table compact" data-testid="drift-mix">
          <thead>
            <tr>
              <th />
              <th>{v.baseline}</th>
              <th>{v.version}</th>
              <th>score</th>
            </tr>
          </thead>
          <tbody>
            {v.fanout && (
              <ScoreRow name="Fan-out (messages out per message in)" score={v.fanout} show={(n) => num(n)} />
            )}
            {v.verdicts && <ScoreRow name="Verdict mix" score={v.verdicts} show={mix} />}
            {v.types && <ScoreRow name="Message types" score={v.types} show={mix} />}
          </tbody>
        </table>
      )}
      {drifted.map((f) => (
        <FieldCard key={`${f.type} ${f.field}`} field={f} baseline={baseline} current={v.version} />
      ))}
      {quiet.length > 0 && (
        <details data-testid="drift-quiet">
          <summary>
            {quiet.length} steady {quiet.length === 1 ? 'field' : 'fields'}:{' '}
            {quiet.map((f) => f.field).join(', ')}
          </summary>
          {quiet.map((f) => (
            <FieldCard key={`${f.type} ${f.field}`} field={f} baseline={baseline} current={v.version} />
          ))}
        </details>
      )}
    </article>
  );
}

function ScoreRow<T>({ name, score, show }: { name: string; score: DriftScore<T>; show: (v: T) => string }) {
  return (
    <tr class={score.drifted ? 'drifted' : ''} data-testid="drift-mix-row" data-metric={score.metric}>
      <th>{name}</th>
      <td>{show(score.baseline)}</td>
      <td>{show(score.current)}</td>
      <td>
        {metricWord(score.metric)} {num(score.score)} {score.drifted && <span class="tag dead">drifted</span>}
      </td>
    </tr>
  );
}

const VERDICT_WORD: Record<string, string> = {
  deliver: 'delivered',
  deny: 'denied',
  hold: 'held',
  quarantine: 'quarantined',
};

function mix(shares: Record<string, number>): string {
  const parts = Object.entries(shares).filter(([, s]) => s > 0);
  if (parts.length === 0) return '—';
  return parts.map(([k, s]) => `${VERDICT_WORD[k] ?? k} ${pct(s)}`).join(', ');
}
