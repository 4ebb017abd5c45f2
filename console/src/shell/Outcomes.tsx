import type { ChainLink } from '../api/types.js';
import { finalVerdict, inTimeOrder, outcomeWords, releaseAnswer } from './outcome-words.js';
import { VerdictBadge } from './VerdictBadge.js';

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
      {inTimeOrder(link.outcomes).map((o) => (
        <li
          key={`${o.kind}${o.agent}${o.at}`}
          data-testid={testid}
          data-kind={o.kind}
          data-answer={o.kind === 'hold.released' ? releaseAnswer(o) : undefined}
          data-refused={o.kind === 'hold.released' ? o.verdict?.reason : undefined}
          data-by={o.agent ?? undefined}
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
