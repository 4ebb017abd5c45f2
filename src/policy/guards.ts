import { type Checker, duration, isObj, num, type Obj } from './check.js';
import type { EnvelopeGuard, LedgerSettings, LoopGuard } from './types.js';

/** Defaults of every optional guard setting: docs/policy.md lists the same values. */
const DEFAULTS = {
  maxHops: 8,
  maxRepeats: 1,
  echoWindow: '24h',
  echoMinLength: 16,
  maxBytes: 65_536,
  dedupeWindow: '10m',
  partitions: 1,
  durability: 'full',
} as const;

/** The loop and envelope guards, each setting defaulted when absent. */
export function compileGuards(check: Checker, doc: Obj): { loop: LoopGuard; envelope: EnvelopeGuard } {
  const cluster = isObj(doc.cluster) ? doc.cluster : {};
  if (
    doc.partitions !== undefined &&
    cluster.partitions !== undefined &&
    doc.partitions !== cluster.partitions
  ) {
    const problem = `is ${String(cluster.partitions)} and partitions is ${String(doc.partitions)}: a mesh has one partition count, write it once`;
    check.report('MW_POLICY_BAD_VALUE', { where: 'cluster.partitions', problem }, ['cluster', 'partitions']);
  }
  const guards = isObj(doc.guards) ? doc.guards : {};
  const loop = isObj(guards.loop) ? guards.loop : {};
  const envelope = isObj(guards.envelope) ? guards.envelope : {};
  return {
    loop: {
      maxHops: num(loop.maxHops, DEFAULTS.maxHops),
      maxRepeats: num(loop.maxRepeats, DEFAULTS.maxRepeats),
      echoWindowMs: duration(check, loop.echoWindow, ['guards', 'loop', 'echoWindow'], DEFAULTS.echoWindow),
      echoMinLength: num(loop.echoMinLength, DEFAULTS.echoMinLength),
      action: loop.action === 'deny' ? 'deny' : 'freeze',
    },
    envelope: {
      maxBytes: num(envelope.maxBytes, DEFAULTS.maxBytes),
      dedupeWindowMs: duration(
        check,
        envelope.dedupeWindow,
        ['guards', 'envelope', 'dedupeWindow'],
        DEFAULTS.dedupeWindow,
      ),
    },
  };
}

export function partitionsOf(doc: Obj): number {
  return num(doc.partitions ?? partitionsPath(doc)?.value, DEFAULTS.partitions);
}

/**
 * Where the partition count is written: `partitions`, or `cluster.partitions` (one name for it in a
 * distributed mesh's file). Both written with two counts is a mistake (checkPartitions).
 */
export function partitionsPath(
  doc: Obj,
): { readonly path: readonly string[]; readonly value: unknown } | undefined {
  if (doc.partitions !== undefined) return { path: ['partitions'], value: doc.partitions };
  const cluster = isObj(doc.cluster) ? doc.cluster : undefined;
  if (cluster?.partitions !== undefined)
    return { path: ['cluster', 'partitions'], value: cluster.partitions };
  return undefined;
}

/** The `ledger:` settings, defaulted; a wrong value was reported by the shape check and reads as the default. */
export function ledgerOf(doc: Obj): LedgerSettings {
  const ledger = isObj(doc.ledger) ? doc.ledger : {};
  return { durability: ledger.durability === 'normal' ? 'normal' : DEFAULTS.durability };
}
