// What a crash may and may not do, read from the ledger and the executor's side file.
import { decisionOf, type LedgerRow } from './lib.ts';

/** What the ledger held the moment the process died, checked against what the outside saw. */
export type AtKill = {
  entries: number;
  /** Answers the loader got (202 admitted or held, 200 approved) with no durable entry behind them. */
  admittedLost: string[];
  /** Side-file keys (effects that ran) whose admission was not durable. */
  effectsBeforeDurable: string[];
  /** Holds durable and not released: each must be pending again after the restart. */
  pendingHolds: Set<string>;
};

/** Ids the ledger admitted for delivery: a deliver decision, or a pilot's approval of a hold. */
function admittedIds(rows: readonly LedgerRow[]): Set<string> {
  const ids = new Set<string>();
  for (const r of rows) {
    if (r.msgId === null) continue;
    if (r.kind === 'decision' && decisionOf(r) === 'deliver') ids.add(r.msgId);
    if (r.kind === 'hold.released' && r.data.outcome === 'deliver') ids.add(r.msgId);
  }
  return ids;
}

export function checkAtKill(
  rows: readonly LedgerRow[],
  acked: { sent: readonly string[]; approved: readonly string[] },
  side: ReadonlyMap<string, number>,
): AtKill {
  const decided = new Set(rows.filter((r) => r.kind === 'decision').map((r) => r.msgId));
  const released = new Set(rows.filter((r) => r.kind === 'hold.released').map((r) => r.msgId));
  const admitted = admittedIds(rows);
  const pendingHolds = new Set<string>();
  for (const r of rows) {
    if (r.kind === 'decision' && decisionOf(r) === 'hold' && r.msgId !== null) pendingHolds.add(r.msgId);
    if (r.kind === 'hold.released' && r.msgId !== null) pendingHolds.delete(r.msgId);
  }
  return {
    entries: rows.length,
    admittedLost: [
      ...acked.sent.filter((id) => !decided.has(id)),
      ...acked.approved.filter((id) => !released.has(id)),
    ],
    effectsBeforeDurable: [...side.keys()].filter((key) => !admitted.has(key)),
    pendingHolds,
  };
}

/**
 * Admitted work with nothing to show it was done: a message nobody handled (no delivered entry, no
 * emission caused by it, no dead letter), an effect that never reported executing (or failing).
 */
export function unfinished(rows: readonly LedgerRow[]): string[] {
  const done = new Set<string>();
  for (const r of rows) {
    if (['delivered', 'dead-letter', 'effect.executed', 'delivery.failed'].includes(r.kind) && r.msgId)
      done.add(r.msgId);
    if (r.kind === 'decision' && r.causationId !== null) done.add(r.causationId);
  }
  return [...admittedIds(rows)].filter((id) => !done.has(id));
}

/**
 * Entries that should exist once and exist more: two decisions (or deliveries to one agent, or
 * executions, or releases) for one id, or a job that led to two payment requests (the worker asks
 * for exactly one).
 */
export function duplicates(rows: readonly LedgerRow[]): string[] {
  const seen = new Map<string, number>();
  const children = new Map<string, number>();
  for (const r of rows) {
    if (r.msgId === null) continue;
    if (['decision', 'delivered', 'effect.executed', 'hold.released'].includes(r.kind)) {
      const key = `${r.kind} ${r.msgId} ${r.agent ?? ''}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    if (r.kind === 'decision' && r.causationId !== null)
      children.set(r.causationId, (children.get(r.causationId) ?? 0) + 1);
  }
  return [
    ...[...seen].filter(([, n]) => n > 1).map(([k]) => k),
    ...[...children].filter(([, n]) => n > 1).map(([id]) => `two requests caused by ${id}`),
  ];
}
