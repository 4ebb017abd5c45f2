import type { Envelope, GatedKind } from '../envelope/index.js';
import type { HoldState, HoldVerdict, StateDelta } from './types.js';

/**
 * The delta that opens a hold on `envelope`, held at `now`. Built in canonical member order, so the
 * decision entry that carries it is still serialized by native JSON.stringify.
 */
export function holdOpen(
  envelope: Envelope,
  gated: GatedKind,
  verdict: HoldVerdict,
  now: number,
  partner: boolean,
): StateDelta {
  const hold: HoldState = partner
    ? {
        envelope,
        gated,
        heldAt: now,
        msgId: envelope.id,
        partner: true,
        subject: envelope.subject,
        verdict,
      }
    : { envelope, gated, heldAt: now, msgId: envelope.id, subject: envelope.subject, verdict };
  return { hold, kind: 'hold-open' };
}

/** The delta that settles the hold on `msgId`. */
export function holdRelease(msgId: string): StateDelta {
  return { kind: 'hold-release', msgId };
}

/** When an approval hold times out, under a rule's timeout. */
export function holdTimeoutAt(hold: HoldState, timeoutMs: number): number {
  return hold.heldAt + timeoutMs;
}
