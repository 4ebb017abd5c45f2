import type { LedgerReader } from '../ledger/index.js';
import type { Policy } from '../policy/index.js';
import {
  baselineOf,
  breakerKey,
  breakerOpenAt,
  currentOf,
  type DriftAlarm,
  driftDigest,
  driftStateFor,
  evaluateDrift,
  type StateView,
} from '../state/index.js';
import { binsOf, type DriftBins } from './drift-report.js';
import { ENTRY } from './records.js';

/** Alarms listed per monitor: the latest. */
const ALARMS_SHOWN = 20;

/** A live drift monitor as the API shows it: its rule, its current evaluation, its alarms. */
export type DriftMonitorView = {
  readonly id: string;
  readonly agent: string;
  readonly type: string;
  readonly fields: readonly string[];
  readonly action: string;
  readonly threshold: number;
  readonly minSamples: number;
  readonly windowMs: number;
  /** `previous`, `version:<v>` or `window:<ms>`. */
  readonly baselineRule: string;
  /** The agent version the policy runs now, which the monitor evaluates. */
  readonly version: string;
  /** Its evaluation now (null before there is a baseline), each field with its bins. */
  readonly evaluation: {
    readonly baseline: string;
    readonly score: number;
    readonly field: string;
    readonly metric: string;
    readonly enough: boolean;
    readonly over: boolean;
    readonly fields: readonly (Record<string, unknown> & { readonly bins: DriftBins })[];
  } | null;
  /** Versions whose alarm is raised (until they recover). */
  readonly alarmed: readonly string[];
  /** Whether the monitor's breaker is open on the agent now. */
  readonly breakerOpen: boolean;
  /** Its `drift.alarm` entries, newest last. */
  readonly alarms: readonly (DriftAlarm & { readonly msgId?: string; readonly summary?: string })[];
};

/**
 * Every live monitor of the policy over `state` at `now` (with partitions, every partition's share
 * of the agent's traffic merged version by version, docs/drift.md).
 */
export async function driftMonitorsView(
  policy: Policy,
  state: StateView,
  ledger: LedgerReader,
  now: number,
): Promise<DriftMonitorView[]> {
  const out: DriftMonitorView[] = [];
  for (const m of policy.drift ?? []) {
    const version = policy.agents.get(m.agent)?.version ?? '';
    const s = driftStateFor(state.drift(m.id, driftDigest(m)), m);
    const ev = evaluateDrift(s, m, version, now, true);
    const base = s === undefined ? undefined : baselineOf(s, m, version, now);
    const cur = s === undefined ? undefined : currentOf(s, m, version, now);
    const alarms = (await ledger.byAgent(`drift:${m.id}`, { limit: ALARMS_SHOWN }))
      .filter((e) => e.kind === ENTRY.driftAlarm)
      .map((e) => ({
        ...(e.data as unknown as DriftAlarm),
        ...(e.msgId === undefined ? {} : { msgId: e.msgId }),
      }));
    const b = m.baseline;
    out.push({
      id: m.id,
      agent: m.agent,
      type: m.type,
      fields: m.fields,
      action: m.action,
      threshold: m.threshold,
      minSamples: m.minSamples,
      windowMs: m.windowMs,
      baselineRule:
        b.kind === 'previous'
          ? 'previous'
          : b.kind === 'version'
            ? `version:${b.version}`
            : `window:${b.windowMs}`,
      version,
      evaluation:
        ev === undefined || base === undefined || cur === undefined
          ? null
          : {
              baseline: ev.baseline,
              score: ev.fieldScore.score,
              field: ev.field,
              metric: ev.fieldScore.metric,
              enough: ev.enough,
              over: ev.over,
              fields: ev.fields.map((f, i) => ({ ...f, bins: binsOf(base.fields[i]!, cur[i]!, f.metric) })),
            },
      alarmed: [...(s?.alarmed ?? [])].sort(),
      breakerOpen: breakerOpenAt(state.breaker(breakerKey(m.id, m.agent)), now),
      alarms,
    });
  }
  return out;
}
