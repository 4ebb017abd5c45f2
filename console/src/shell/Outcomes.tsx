import type { ChainLink, Decision, Outcome } from '../api/types.js';
import { VerdictBadge } from './VerdictBadge.js';
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

/** Where a held message ended: let through or refused once a pilot (or the timeout) answered. */
export function finalVerdict(link: ChainLink): Decision {
  if (link.verdict !== 'hold') return link.verdict;
  const released = link.outcomes.find((o) => o.kind === 'hold.released');
  if (released === undefined) return 'hold';
  if (released.outcome === 'deny') return 'deny';
  return released.verdict !== undefined && released.verdict.decision !== 'deliver' ? 'deny' : 'deliver';
}

/** The verdict as it stands now: a held message a pilot answered shows how it ended, and that it was held. */
export function CurrentVerdict({ link }: { link: ChainLink }) {
  const now = finalVerdict(link);
  if (now === link.verdict) return <VerdictBadge verdict={link.verdict} />;
  return (
    <>
      <VerdictBadge verdict={now} />{' '}
      <span class="muted small" data-testid="was-held">
        after being held
      </span>
    </>
  );
}
