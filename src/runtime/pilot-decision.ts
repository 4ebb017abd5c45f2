import type { MeshwardenError } from '../envelope/index.js';
import type { LedgerEntry } from '../ledger/index.js';
import type { Policy } from '../policy/index.js';
import {
  breakerCountKey,
  breakerKey,
  breakerOpenAt,
  PILOT_BREAKER,
  type StateDelta,
  type StateView,
  slotMsFor,
} from '../state/index.js';
import { runtimeError } from './errors.js';
import { entityFreezeIds } from './freezes.js';
import type { Release } from './holds.js';

/**
 * What a pilot's action and a hold's release return (and `Mesh.reload`, in the same shape): refused
 * at once, as a typed error with nothing changed, or accepted, as its ledger entry once durable.
 * (`Mesh.inject` and `reject` return a promise only: see there.)
 */
export type ActionResult = Promise<LedgerEntry> | MeshwardenError;

/** Who acts and why: every pilot action is recorded with both. */
export type PilotAct = { readonly pilot: string; readonly reason: string };

/** A pilot's action, as the API and the CLI ask for it. */
export type PilotAction =
  | { readonly action: 'approve' | 'reject'; readonly msgId: string; readonly act: PilotAct }
  | { readonly action: 'freeze' | 'unfreeze'; readonly subject: string; readonly act: PilotAct }
  | { readonly action: 'reset'; readonly breaker: string; readonly key: string; readonly act: PilotAct };

/**
 * What a pilot's action does: a `pilot.action` entry whose deltas change state (freeze, unfreeze,
 * reset), or a hold's release, which the holds shell records (it may gate the message again).
 */
export type PilotDecision =
  | {
      readonly kind: 'record';
      readonly action: 'freeze' | 'unfreeze' | 'reset';
      /** The frozen subject, or the breaker's key. */
      readonly subject: string;
      readonly deltas: readonly StateDelta[];
      /** Recorded beside `action`, `deltas` and `reason`: the breakers closed, or the one reset. */
      readonly data: { readonly breakers?: readonly string[]; readonly breaker?: string };
    }
  | { readonly kind: 'release'; readonly msgId: string; readonly release: Release };

/** `pilot:<name>`, the actor a pilot's ledger entries name. */
export function pilotActor(name: string): string {
  return `pilot:${name}`;
}

/**
 * Decides a pilot's action over a state snapshot at `now`: pure, so the partition that owns the
 * subject can decide it, and a test can, without a ledger. Refused (nothing changes) as a typed error.
 */
export function decidePilotAction(
  a: PilotAction,
  view: StateView,
  policy: Policy,
  now: number,
): PilotDecision | MeshwardenError {
  const by = pilotActor(a.act.pilot);
  switch (a.action) {
    case 'approve':
    case 'reject': {
      // The reason is checked where every release is (holds.ts), timeouts included; the pilot here.
      if (view.hold(a.msgId) === undefined) return runtimeError('MW_PILOT_NOT_HELD', { msgId: a.msgId });
      const bad = badText({ pilot: a.act.pilot });
      if (bad !== undefined) return bad;
      const outcome = a.action === 'approve' ? 'deliver' : 'deny';
      return { kind: 'release', msgId: a.msgId, release: { outcome, by, reason: a.act.reason } };
    }
    case 'freeze': {
      const bad = badText({ subject: a.subject, reason: a.act.reason, pilot: a.act.pilot });
      if (bad !== undefined) return bad;
      const key = breakerKey(PILOT_BREAKER, a.subject);
      if (breakerOpenAt(view.breaker(key), now))
        return runtimeError('MW_PILOT_ALREADY_FROZEN', { subject: a.subject });
      const open: StateDelta = {
        key,
        kind: 'breaker-open',
        state: { state: 'open', action: 'freeze', openedAt: now, by },
      };
      return { kind: 'record', action: 'freeze', subject: a.subject, deltas: [open], data: {} };
    }
    case 'unfreeze': {
      const bad = badText({ subject: a.subject, reason: a.act.reason, pilot: a.act.pilot });
      if (bad !== undefined) return bad;
      const closed = entityFreezeIds(policy).filter((id) =>
        breakerOpenAt(view.breaker(breakerKey(id, a.subject)), now),
      );
      if (closed.length === 0) return runtimeError('MW_PILOT_NOT_FROZEN', { subject: a.subject });
      const deltas = closed.map(
        (id): StateDelta => ({ key: breakerKey(id, a.subject), kind: 'breaker-close' }),
      );
      return { kind: 'record', action: 'unfreeze', subject: a.subject, deltas, data: { breakers: closed } };
    }
    case 'reset': {
      const { breaker: id, key } = a;
      const bad = badText({ breaker: id, key, reason: a.act.reason, pilot: a.act.pilot });
      if (bad !== undefined) return bad;
      if (!breakerOpenAt(view.breaker(breakerKey(id, key)), now))
        return runtimeError('MW_PILOT_NO_BREAKER', { id, key });
      // Closed, and its count cleared, so it does not trip again on old traffic.
      const deltas: StateDelta[] = [{ key: breakerKey(id, key), kind: 'breaker-close' }];
      const rule = policy.breakers.find((b) => b.id === id);
      if (rule !== undefined) {
        const slotMs = slotMsFor(rule.windowMs);
        deltas.push({
          key: breakerCountKey(id, key),
          kind: 'window',
          state: { slotMs, slots: [], start: 0 },
        });
      }
      // A drift monitor's breaker: its alarm is cleared and its current window emptied (drift.md).
      if (policy.drift?.some((m) => m.id === id) === true) deltas.push({ kind: 'drift-reset', monitor: id });
      return { kind: 'record', action: 'reset', subject: key, deltas, data: { breaker: id } };
    }
  }
}

/** Text the ledger cannot record is refused before anything changes. */
function badText(texts: Record<string, string>): MeshwardenError | undefined {
  for (const [what, text] of Object.entries(texts)) {
    if (!text.isWellFormed()) return runtimeError('MW_PILOT_BAD_TEXT', { what });
  }
  return undefined;
}
