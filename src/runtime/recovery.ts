import type { Envelope, GatedKind } from '../envelope/index.js';
import type { Verdict } from '../gate/index.js';
import type { Ledger } from '../ledger/index.js';
import type { Policy } from '../policy/index.js';
import type { StateDelta, StateStore } from '../state/index.js';
import type { HeldApproval } from './holds.js';
import { ENTRY } from './records.js';

type Pending = { readonly envelope: Envelope; readonly gated: GatedKind; readonly waiting: Set<string> };
type DecisionData = { gated?: GatedKind; verdict?: Verdict; envelope?: Envelope; deltas?: StateDelta[] };

/**
 * Reads the ledger once from the start: replays every decision's state deltas (so guards continue
 * where they stopped), finds admitted work with no delivery, dead letter or execution entry, and
 * approval holds nobody released. The work is dispatched again (at-least-once, with the envelope id
 * as the idempotency key); the holds go back to their timers. Returns how much work was resumed.
 */
export function recoverFromLedger(
  ledger: Ledger,
  state: StateStore,
  policy: Policy,
  dispatch: (envelope: Envelope, gated: GatedKind, only: readonly string[]) => void,
  trackHold: (hold: HeldApproval) => void,
): number {
  const pending = new Map<string, Pending>();
  const holds = new Map<string, HeldApproval>();
  const admitted = (id: string, e: Envelope, gated: GatedKind) => {
    const consumers = e.target !== undefined ? [e.target] : (policy.consumers.get(e.type) ?? []);
    const waiting =
      gated === 'effect'
        ? [`effect:${e.type}`]
        : consumers.map((name) => `${name}@${policy.agents.get(name)?.version ?? '?'}`);
    if (waiting.length > 0) pending.set(id, { envelope: e, gated, waiting: new Set(waiting) });
  };

  for (const entry of ledger.scan()) {
    const id = entry.msgId;
    if (id === undefined) continue;
    if (entry.kind === ENTRY.decision) {
      const { deltas, verdict, envelope, gated } = entry.data as DecisionData;
      if (deltas !== undefined) state.apply(deltas);
      if (envelope === undefined || gated === undefined || verdict === undefined) continue;
      if (verdict.decision === 'deliver') admitted(id, envelope, gated);
      else if (verdict.decision === 'hold' && verdict.stage === 'approval' && verdict.rule !== undefined) {
        holds.set(id, { msgId: id, envelope, gated, rule: verdict.rule, heldAt: entry.at });
      }
    } else if (entry.kind === ENTRY.holdReleased) {
      const hold = holds.get(id);
      holds.delete(id);
      const outcome = (entry.data as { outcome?: string }).outcome;
      if (hold !== undefined && outcome === 'deliver') admitted(id, hold.envelope, hold.gated);
    } else if (
      entry.kind === ENTRY.delivered ||
      entry.kind === ENTRY.deadLetter ||
      entry.kind === ENTRY.effectExecuted
    ) {
      const p = pending.get(id);
      if (p === undefined || entry.agent === undefined) continue;
      p.waiting.delete(entry.agent);
      if (p.waiting.size === 0) pending.delete(id);
    }
  }
  for (const hold of holds.values()) trackHold(hold);
  for (const p of pending.values()) {
    const names = [...p.waiting].map((worker) => worker.slice(0, worker.lastIndexOf('@')));
    dispatch(p.envelope, p.gated, p.gated === 'effect' ? [] : names);
  }
  return pending.size;
}
