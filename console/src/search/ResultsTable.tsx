import type { Breaker, ChainLink } from '../api/types.js';
import { AgentName } from '../shell/CodeWords.js';
import { CurrentVerdict, Outcomes } from '../shell/Outcomes.js';
import { href } from '../shell/route.js';
import { timeText } from '../shell/time-text.js';
import { VerdictWhy } from '../shell/VerdictWhy.js';

/** Search results; a whole row opens the message's lineage. */
export function ResultsTable({ results, open }: { results: ChainLink[]; open: Breaker[] | undefined }) {
  return (
    <table class="table clickable" data-testid="search-results">
      <thead>
        <tr>
          <th>When</th>
          <th>Message</th>
          <th>Subject</th>
          <th>From</th>
          <th>Verdict</th>
          <th>Then</th>
          <th>Why</th>
        </tr>
      </thead>
      <tbody>
        {results.map((r) => (
          <tr
            key={r.id}
            data-testid="search-result"
            data-message-id={r.id}
            data-type={r.type}
            onClick={() => {
              location.hash = href.message(r.id);
            }}
          >
            <td>{timeText(r.at)}</td>
            <td>
              <a href={href.message(r.id)} data-testid="search-result-link">
                {r.type}
              </a>
              {r.gated === 'effect' && <span class="muted"> (side effect)</span>}
            </td>
            <td>{r.subject}</td>
            <td>
              <AgentName raw={r.agent || r.source} unknown={r.reason === 'envelope.unknown_source'} />
            </td>
            <td>
              <CurrentVerdict link={r} />
            </td>
            <td>
              <Outcomes link={r} testid="search-outcome" />
            </td>
            <td>
              <VerdictWhy link={r} open={open} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
