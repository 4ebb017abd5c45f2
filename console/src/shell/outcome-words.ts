import type { ChainLink, Decision, Outcome } from '../api/types.js';
import { agentName, reasonWords } from './words.js';

export type ReleaseAnswer = 'approved' | 'rejected' | 'let-through' | 'denied';

const ANSWER_WORDS: Record<ReleaseAnswer, string> = {
  approved: 'approved',
  rejected: 'rejected',
  'let-through': 'let through',
  denied: 'denied',
};

/**
 * How a hold was answered: by a pilot (approved or rejected) or by its timeout (let through or
 * denied). A re-check (and so a verdict) follows only a release that lets through: the runtime then
 * writes outcome 'deny' when the re-check refuses, yet the pilot approved.
 */
export function releaseAnswer(o: Outcome): ReleaseAnswer {
  const letThrough = o.verdict !== undefined || o.outcome !== 'deny';
  if (o.agent === null) return letThrough ? 'let-through' : 'denied';
  return letThrough ? 'approved' : 'rejected';
}

/** What became of a message after its verdict, one line per ledger entry, in plain words. */
export function outcomeWords(o: Outcome): string {
  switch (o.kind) {
    case 'hold.released': {
      const who = o.agent === null ? 'on timeout' : `by ${agentName(o.agent)}`;
      const base = `${ANSWER_WORDS[releaseAnswer(o)]} ${who}`;
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
    case 'alert.sent':
      return o.alert === undefined ? 'alert' : alertWords(o.alert);
    default:
      return o.kind;
  }
}

/** Where a held message ended: let through or refused once a pilot (or the timeout) answered. */
export function finalVerdict(link: ChainLink): Decision {
  if (link.verdict !== 'hold') return link.verdict;
  const released = link.outcomes.find((o) => o.kind === 'hold.released');
  if (released === undefined) return 'hold';
  if (released.outcome === 'deny') return 'deny';
  return released.verdict !== undefined && released.verdict.decision !== 'deliver' ? 'deny' : 'deliver';
}

/** "paged on-call (oncall, breaker opened)": whether a pilot was told, through which sink, about what. */
function alertWords(a: NonNullable<Outcome['alert']>): string {
  const what = `${a.sink}, ${a.event.replace('.', ' ')}`;
  if (a.outcome === 'sent') return `on-call told (${what})`;
  const tries = a.attempts === 1 ? '1 try' : `${a.attempts} tries`;
  if (a.outcome === 'failed')
    return `on-call could not be told (${what}; ${tries})${a.error === undefined ? '' : `: ${a.error.message}`}`;
  return `on-call not told: the alert queue was full (${what})`;
}

// At the same instant, an answer to a hold comes before what it let happen.
const KIND_ORDER: Record<string, number> = { 'hold.released': 0 };

/** Outcomes oldest first (the ledger lists a handler's emissions after its own entries). */
export function inTimeOrder<T extends Pick<Outcome, 'kind' | 'at'>>(outcomes: readonly T[]): T[] {
  const rank = (o: T) => KIND_ORDER[o.kind] ?? 1;
  return [...outcomes].sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || rank(a) - rank(b));
}
