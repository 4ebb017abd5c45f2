import { isJsonPointer, parsePointer } from '../contracts/index.js';
import { type Checker, duration, isObj, labelOf, listOf, type Obj, shown, str } from './check.js';
import { UNIQUE_RULE_IDS } from './errors.js';
import type { Graph } from './graph.js';
import type { Path } from './source.js';
import type { DriftMonitor, DriftMonitorBaseline } from './types.js';

/** Defaults of a drift monitor (docs/policy.md, `drift`). */
export const DRIFT_DEFAULTS = { window: '1h', threshold: 0.2, minSamples: 100 } as const;

/** Ids used by the other rule lists: a monitor's id names its breaker, so it must not collide. */
const RULE_LISTS = ['limits', 'budgets', 'breakers', 'approvals'] as const;
const RESERVED = new Set(['loop', 'pilot']);

/**
 * The `drift:` monitors: each watches one agent's emissions of one type, on a few fields, and
 * compares its current version's window with a baseline (docs/drift.md).
 */
export function compileDrift(check: Checker, doc: Obj, graph: Graph): DriftMonitor[] {
  const taken = new Map<string, Path>();
  for (const list of RULE_LISTS)
    listOf(doc[list]).forEach((item, i) => {
      const id = isObj(item) ? str(item.id) : undefined;
      if (id !== undefined && !taken.has(id)) taken.set(id, [list, i]);
    });
  const out: DriftMonitor[] = [];
  listOf(doc.drift).forEach((item, i) => {
    if (!isObj(item)) return;
    const path: Path = ['drift', i];
    const id = str(item.id) ?? '';
    const other = taken.get(id);
    if (other !== undefined)
      check.report('MW_POLICY_DUPLICATE_ID', { id, other: labelOf(other), unique: UNIQUE_RULE_IDS }, [
        ...path,
        'id',
      ]);
    else if (RESERVED.has(id))
      check.report('MW_POLICY_RESERVED_ID', { id, use: 'freezes of the warden itself' }, [...path, 'id']);
    else if (id !== '') taken.set(id, path);
    out.push(compileMonitor(check, graph, item, path, id));
  });
  return out;
}

function compileMonitor(check: Checker, graph: Graph, item: Obj, path: Path, id: string): DriftMonitor {
  const who = `drift monitor ${id}`;
  const agentName = str(item.agent) ?? '';
  const agent = graph.agents.get(agentName);
  if (agent === undefined && item.agent !== undefined) {
    check.report(
      'MW_POLICY_UNKNOWN_REFERENCE',
      { who, verb: 'watches agent', name: agentName, why: 'no agent has that name' },
      [...path, 'agent'],
    );
  }
  const type = str(item.type) ?? '';
  if (agent !== undefined && type !== '' && !agent.emits.includes(type)) {
    const why = `agent ${agentName} does not emit it (its emits: ${agent.emits.join(', ') || 'none'})`;
    check.report('MW_POLICY_UNKNOWN_REFERENCE', { who, verb: 'watches type', name: type, why }, [
      ...path,
      'type',
    ]);
  }
  const fields: string[] = [];
  const fieldPaths: string[][] = [];
  listOf(item.fields).forEach((f, j) => {
    const at = [...path, 'fields', j];
    if (typeof f !== 'string' || f === '' || !isJsonPointer(f)) {
      check.report('MW_POLICY_BAD_POINTER', { where: labelOf(at), value: shown(f) }, at);
      return;
    }
    fields.push(f);
    fieldPaths.push(parsePointer(f));
  });
  if (Array.isArray(item.fields) && item.fields.length === 0) {
    const at = [...path, 'fields'];
    check.report('MW_POLICY_BAD_VALUE', { where: labelOf(at), problem: 'must name at least one field' }, at);
  }
  const threshold = typeof item.threshold === 'number' ? item.threshold : DRIFT_DEFAULTS.threshold;
  return {
    id,
    agent: agentName,
    type,
    fields,
    fieldPaths,
    windowMs: duration(check, item.window, [...path, 'window'], DRIFT_DEFAULTS.window),
    baseline: baselineOf(check, item.baseline, [...path, 'baseline']),
    threshold,
    minSamples: typeof item.minSamples === 'number' ? item.minSamples : DRIFT_DEFAULTS.minSamples,
    action: item.action === 'freeze' || item.action === 'deny' ? item.action : 'alert',
  };
}

/** `previous` (the default), `{ version: v }`, or `{ window: 24h }`. */
function baselineOf(check: Checker, value: unknown, at: Path): DriftMonitorBaseline {
  if (value === undefined || value === 'previous') return { kind: 'previous' };
  if (isObj(value) && Object.keys(value).length === 1) {
    if (typeof value.version === 'string' && value.version !== '')
      return { kind: 'version', version: value.version };
    if (value.window !== undefined)
      return { kind: 'window', windowMs: duration(check, value.window, [...at, 'window']) };
  }
  const problem = `is ${shown(value)}: write previous, { version: 2.0.0 } or { window: 24h }`;
  check.report('MW_POLICY_BAD_VALUE', { where: labelOf(at), problem }, at);
  return { kind: 'previous' };
}
