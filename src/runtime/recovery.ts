import type { Envelope, GatedKind } from '../envelope/index.js';
import type { Verdict } from '../gate/index.js';
import type { Ledger } from '../ledger/index.js';
import type { Policy } from '../policy/index.js';
import type { StateDelta, StateStore } from '../state/index.js';
import { ENTRY } from './records.js';

type Pending = { readonly envelope: Envelope; readonly gated: GatedKind; readonly waiting: Set<string> };

/**
 * Reads the ledger once from the start: replays every decision's state deltas (so guards continue
 * where they stopped) and finds admitted work with no delivery, dead letter or execution entry.
 * That work is dispatched again: at-least-once, with the envelope id as the idempotency key.
 * Returns how many messages or effects were resumed.
 */
export function recoverFromLedger(
  ledger: Ledger,
  state: StateStore,
  policy: Policy,
  dispatch: (envelope: Envelope, gated: GatedKind, only: readonly string[]) => void,
): number {
  const pending = new Map<string, Pending>();
  for (const entry of ledger.scan()) {
    const id = entry.msgId;
    if (id === undefined) continue;
    if (entry.kind === ENTRY.decision) {
      const data = entry.data as {
        gated?: GatedKind;
        verdict?: Verdict;
        envelope?: Envelope;
        deltas?: StateDelta[];
      };
      if (data.deltas !== undefined) state.apply(data.deltas);
      if (data.verdict?.decision !== 'deliver' || data.envelope === undefined || data.gated === undefined)
        continue;
      const e = data.envelope;
      const waiting =
        data.gated === 'effect'
          ? [`effect:${e.type}`]
          : (e.target !== undefined ? [e.target] : (policy.consumers.get(e.type) ?? [])).map(
              (name) => `${name}@${policy.agents.get(name)?.version ?? '?'}`,
            );
      if (waiting.length > 0) pending.set(id, { envelope: e, gated: data.gated, waiting: new Set(waiting) });
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
  for (const p of pending.values()) {
    const names = [...p.waiting].map((worker) => worker.slice(0, worker.lastIndexOf('@')));
    dispatch(p.envelope, p.gated, p.gated === 'effect' ? [] : names);
  }
  return pending.size;
}
