import type { ChainLink, Outcome } from '../api/types.js';
import { agentName, reasonWords } from './words.js';

/** What became of a message after its verdict, one line per ledger entry, in plain words. */
export function outcomeWords(o: Outcome): string {
  switch (o.kind) {
    case 'hold.released': {
      const who = o.agent === null ? 'on timeout' : `by ${agentName(o.agent)}`;
      const answer = o.outcome === 'deny' ? 'rejected' : 'approved';
      const base =
        o.agent === null ? `${o.outcome === 'deny' ? 'denied' : 'let through'} ${who}` : `${answer} ${who}`;
      // Approved, then gated again (a loop or freeze hold) and refused by what still applies.
      if (o.verdict !== undefined && o.verdict.decision !== 'deliver')
        return `${base}, then refused: ${reasonWords(o.verdict.reason)}`;
      return base;
    }
    case 'effect.executed':
      return 'executed';
    case 'delivered':
      return `handled by ${agentName(o.agent)}`;
    case 'delivery.failed':
      return `failed${o.attempt === undefined ? '' : ` (try ${o.attempt})`}${o.agent === null ? '' : ` in ${agentName(o.agent)}`}`;
    case 'dead-letter':
      return 'given up after its last try (dead letter)';
    default:
      return o.kind;
  }
}

/** The outcomes of a link, or "still waiting for a pilot" for a hold nobody answered yet. */
export function Outcomes({ link, testid }: { link: ChainLink; testid: string }) {
  if (link.outcomes.length === 0) {
    return link.verdict === 'hold' ? (
      <span class="muted" data-testid={testid} data-kind="waiting">
        still waiting for a pilot
      </span>
    ) : null;
  }
  return (
    <ul class="outcomes">
      {link.outcomes.map((o) => (
        <li
          key={`${o.kind}${o.agent}${o.at}`}
          data-testid={testid}
          data-kind={o.kind}
          title={o.reason ?? o.at}
        >
          {outcomeWords(o)}
          {o.reason !== undefined && <span class="muted"> (“{o.reason}”)</span>}
          {o.error !== undefined && (
            <div class="code small" title={o.error.message}>
              {o.error.code}: {o.error.message}
            </div>
          )}
        </li>
      ))}
    </ul>
  );
}
