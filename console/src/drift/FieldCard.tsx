import type { DriftField } from '../api/drift-types.js';
import { BinChart } from './BinChart.js';
import { metricWord, num } from './drift-words.js';

/** One watched field: its score, its means and quantiles, and its distributions as a chart. */
export function FieldCard({
  field,
  baseline,
  current,
}: {
  field: DriftField;
  baseline: string;
  current: string;
}) {
  const numeric = field.baselineMean !== undefined || field.currentMean !== undefined;
  return (
    <div
      class={`drift-field ${field.drifted ? 'drifted' : 'quiet'}`}
      data-testid="drift-field"
      data-field={field.field}
      data-drifted={field.drifted}
    >
      <h5>
        <span class="code">{field.field}</span> <span class="muted">in {field.type}</span>{' '}
        {field.drifted ? <span class="tag dead">drifted</span> : <span class="tag">steady</span>}
      </h5>
      <p>
        {metricWord(field.metric)} <strong data-testid="drift-score">{num(field.score)}</strong>
        {field.drifted ? ', at or over ' : ', under '}
        {num(field.threshold)} · {field.baselineCount} values of {baseline}, {field.currentCount} of {current}
      </p>
      {numeric && (
        <table class="table compact">
          <thead>
            <tr>
              <th />
              <th>mean</th>
              <th>median</th>
              <th>90th percentile</th>
            </tr>
          </thead>
          <tbody>
            <tr>
              <th>{baseline}</th>
              <td>{num(field.baselineMean)}</td>
              <td>{num(field.baselineP50)}</td>
              <td>{num(field.baselineP90)}</td>
            </tr>
            <tr>
              <th>{current}</th>
              <td>{num(field.currentMean)}</td>
              <td>{num(field.currentP50)}</td>
              <td>{num(field.currentP90)}</td>
            </tr>
          </tbody>
        </table>
      )}
      {field.bins !== undefined && field.bins.baseline.length > 0 && (
        <BinChart
          bins={field.bins}
          title={`${field.field} in ${field.type}`}
          baseline={baseline}
          current={current}
        />
      )}
    </div>
  );
}
