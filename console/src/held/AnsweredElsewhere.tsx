import type { HoldAnswer } from '../api/client.js';
import { href } from '../shell/route.js';
import { timeText } from '../shell/time-text.js';
import { agentName } from '../shell/words.js';

/**
 * A hold that left the queue while this pilot was answering it: someone else (another pilot, in
 * another tab or console, or its timeout) answered first; or this pilot's own answer, confirmed.
 * Said until dismissed, so the pilot never takes a card's going for their own answer, nor the
 * reverse.
 */
export type AnsweredHold = {
  readonly id: string;
  /** "credit.issue for account:1203" */
  readonly title: string;
  /** What this pilot tried, when the warden refused it (MW_PILOT_NOT_HELD); absent: a form left open. */
  readonly tried?: 'approve' | 'reject';
  /** Who answered first, when the warden said. */
  readonly answered?: HoldAnswer;
  /** This pilot's own answer, as the warden recorded it (`refused`: gated again and refused, its reason). */
  readonly mine?: { readonly outcome: 'deliver' | 'deny'; readonly refused?: string };
};

export function AnsweredElsewhere({
  gone,
  onDismiss,
}: {
  gone: AnsweredHold[];
  onDismiss: (id: string) => void;
}) {
  if (gone.length === 0) return null;
  return (
    <div class="answered-elsewhere">
      {gone.map((g) => (
        <div
          key={g.id}
          class={`notice ${g.mine === undefined ? 'warning' : 'info'}`}
          role={g.mine === undefined ? 'alert' : 'status'}
          data-testid={g.mine === undefined ? 'answered-elsewhere' : 'answered-by-you'}
          data-hold-id={g.id}
          data-by={g.answered?.by}
          data-outcome={g.mine?.outcome ?? g.answered?.outcome}
        >
          <p>{answeredSentence(g)}</p>
          <a href={href.message(g.id)} data-testid="answered-lineage-link">
            Show what became of it
          </a>{' '}
          <button
            type="button"
            class="action neutral"
            onClick={() => onDismiss(g.id)}
            data-testid="answered-dismiss"
          >
            Dismiss
          </button>
        </div>
      ))}
    </div>
  );
}

/** What happened, in a pilot's words: what they tried, who answered first, and what became of it. */
export function answeredSentence(g: AnsweredHold): string {
  if (g.mine !== undefined) {
    const verb = g.tried === 'reject' ? 'rejected' : 'approved';
    if (g.mine.outcome === 'deliver') return `You ${verb} ${g.title}: it went through.`;
    if (g.tried === 'reject') return `You ${verb} ${g.title}: it was dropped.`;
    return `You ${verb} ${g.title}, but the gate checked it again and refused it (${g.mine.refused ?? 'see why'}).`;
  }
  const first =
    g.tried === undefined
      ? `${g.title} was answered while you were writing your reason`
      : `Your ${g.tried === 'approve' ? 'approval' : 'rejection'} of ${g.title} was not recorded`;
  const a = g.answered;
  if (a === undefined)
    return `${first}: it left the queue, and its lineage does not say who answered it yet.`;
  const at = timeText(a.at);
  const who = a.by === 'timeout' ? 'its timeout' : agentName(a.by);
  // An approval (or a timeout letting it through) the gate checked again and refused ends in deny:
  // it was not rejected.
  if (a.refused !== undefined)
    return `${first}: ${who} had already ${a.by === 'timeout' ? 'let it through' : 'approved it'} at ${at}, but the gate checked it again and refused it (${a.refused}).`;
  if (a.by === 'timeout')
    return `${first}: its timeout had already ${a.outcome === 'deliver' ? 'let it through' : 'denied it'} at ${at}.`;
  const went = a.outcome === 'deliver' ? 'it went through' : 'it was dropped';
  return `${first}: ${who} had already ${a.outcome === 'deliver' ? 'approved' : 'rejected'} it at ${at}, so ${went}.`;
}
