import { useApi } from '../api/context.js';
import type { Breaker } from '../api/types.js';
import { Age, AgentName } from '../shell/CodeWords.js';
import { ReasonedAction } from '../shell/ReasonedAction.js';
import { href } from '../shell/route.js';
import { timeText } from '../shell/time-text.js';
import { breakerWords } from '../shell/words.js';

/** Open breakers; resetting one closes it for that key and clears its count window. */
export function BreakerTable({
  breakers,
  onChanged,
  said,
}: {
  breakers: Breaker[];
  onChanged: () => void;
  /** Tells the page what an action did, in words. */
  said: (text: string) => void;
}) {
  const api = useApi();
  if (breakers.length === 0) {
    return (
      <p class="empty" data-testid="breakers-empty">
        No breaker is open.
      </p>
    );
  }
  return (
    <table class="table" data-testid="breaker-table">
      <thead>
        <tr>
          <th>Breaker</th>
          <th>For</th>
          <th>What it does</th>
          <th>Opened</th>
          <th>Opened by</th>
          <th>Closes</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {breakers.map((b) => (
          <tr key={`${b.id} ${b.key}`} data-testid="breaker-row" data-breaker-id={b.id} data-key={b.key}>
            <td>
              {breakerWords(b.id)} {b.id !== breakerWords(b.id) && <span class="code small">{b.id}</span>}
            </td>
            <td>
              <a href={href.search(b.key)}>{b.key}</a>
            </td>
            <td>
              {b.action === 'freeze'
                ? 'holds everything for it (frozen)'
                : b.action === 'deny'
                  ? 'refuses everything for it'
                  : b.action}
            </td>
            <td>
              {timeText(b.openedAt)}, <Age at={b.openedAt} />
            </td>
            <td>
              <AgentName raw={b.by === b.id ? breakerWords(b.by) : b.by} />
              {b.reason !== undefined && <div class="muted small">“{b.reason}”</div>}
            </td>
            <td>{b.closesAt === null ? 'only by a pilot' : timeText(b.closesAt)}</td>
            <td>
              <ReasonedAction
                label="Reset"
                tone="neutral"
                testid="reset-button"
                question={`Why reset ${b.id} for ${b.key}?`}
                act={(reason) =>
                  api
                    .post(`/breakers/${encodeURIComponent(b.id)}/reset`, { key: b.key, reason })
                    .then(() =>
                      said(
                        `${breakerWords(b.id)} is reset for ${b.key}: it is closed, and counts afresh from now. What is already held stays held: answer it in Held.`,
                      ),
                    )
                }
                example="e.g. refund confirmed with the customer"
                onDone={onChanged}
              />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
