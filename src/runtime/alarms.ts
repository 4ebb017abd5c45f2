import type { JsonObject } from '../envelope/index.js';
import type { LedgerRecord } from '../ledger/index.js';
import { type DriftAlarm, type HoldState, parseBreakerKey, type StateDelta } from '../state/index.js';
import type { MeshEvent } from './events.js';
import { ENTRY } from './records.js';

type Alarm = Extract<MeshEvent, { type: 'alarm' }>;

/**
 * The alarms an appended group raises, read from the state changes it carries: a breaker opened or
 * closed (the gate's trip or cooldown, a failure breaker, a pilot's freeze, unfreeze or reset), a
 * message held. Pure; the shell publishes them once the group is durable. Most groups raise none,
 * which is found without building anything.
 */
export function alarmsOf(
  at: number,
  partition: number,
  records: readonly LedgerRecord[],
  extra: readonly StateDelta[] = [],
): Alarm[] {
  const out: Alarm[] = [];
  for (const record of records) {
    const deltas = (record.data.deltas as readonly StateDelta[] | undefined) ?? [];
    for (const d of deltas) pushAlarm(out, at, partition, record, d);
  }
  const cause = records[0];
  if (cause !== undefined) for (const d of extra) pushAlarm(out, at, partition, cause, d);
  return out;
}

/** Whether any of these changes raises an alarm: the hot path's only cost when nothing does. */
export function raisesAlarm(deltas: readonly StateDelta[] | undefined): boolean {
  if (deltas === undefined) return false;
  for (const d of deltas)
    if (
      d.kind === 'breaker-open' ||
      d.kind === 'breaker-close' ||
      d.kind === 'hold-open' ||
      d.kind === 'drift-alarm'
    )
      return true;
  return false;
}

function pushAlarm(out: Alarm[], at: number, partition: number, record: LedgerRecord, d: StateDelta): void {
  const about = {
    partition,
    ...(record.msgId === undefined ? {} : { msgId: record.msgId }),
    ...(record.correlationId === undefined ? {} : { correlationid: record.correlationId }),
  };
  if (d.kind === 'breaker-open' || d.kind === 'breaker-close') {
    const parsed = parseBreakerKey(d.key);
    const rule = parsed?.id ?? d.key;
    const scopeKey = parsed?.scopeKey ?? '';
    const opened = d.kind === 'breaker-open';
    const by = opened ? d.state.by : (record.agent ?? 'its cooldown');
    // A pilot's reset or unfreeze says who and why, so on-call reads the resolve as an answer.
    const reason = !opened && typeof record.data.reason === 'string' ? record.data.reason : undefined;
    const why = reason === undefined ? '' : `: "${reason}"`;
    out.push({
      type: 'alarm',
      at,
      event: opened ? 'breaker.opened' : 'breaker.closed',
      key: d.key,
      ...about,
      subject: scopeKey,
      rule,
      summary: opened
        ? `breaker ${rule} opened for ${scopeKey} (${d.state.action}): ${d.state.action === 'freeze' ? 'everything for it is held for a pilot' : 'everything for it is denied'}`
        : `breaker ${rule} closed for ${scopeKey} by ${by.replace(/^pilot:/, 'pilot ')}${why}`,
      detail: opened
        ? { breaker: rule, scopeKey, action: d.state.action, by, openedAt: d.state.openedAt }
        : { breaker: rule, scopeKey, by, ...(reason === undefined ? {} : { reason }) },
    });
    return;
  }
  if (d.kind === 'drift-alarm') {
    const a = d.alarm;
    out.push({
      type: 'alarm',
      at,
      event: 'drift.alarm',
      // The state raises one alarm per monitor and version until it recovers or a pilot resets it, so
      // each alarm is news: its raise time in the key keeps a route's dedupe from swallowing the
      // re-alarm after a reset (the same alarm published twice still has one key).
      key: `drift|${a.monitor}|${a.agent}|${a.at}`,
      ...about,
      // The agent, as a breaker's subject is its scope: a freeze monitor's two alerts share it.
      subject: agentName(a.agent),
      rule: a.monitor,
      summary: driftSummary(a),
      detail: a as unknown as JsonObject,
    });
    return;
  }
  if (d.kind === 'hold-open') out.push({ type: 'alarm', ...about, ...holdCreatedAlarm(d.hold, at) });
}

/** The `hold.created` alarm about a held message (also what a restart sends when it was lost). Pure. */
export function holdCreatedAlarm(hold: HoldState, at: number): Omit<Alarm, 'type' | 'partition'> {
  return {
    at,
    event: 'hold.created',
    // Holds of one subject for one rule are one alert within a route's dedupe window, the others
    // counted: a frozen account's storm of held messages pages once, not once a message.
    key: `${hold.verdict.rule ?? hold.verdict.reason}|${hold.subject}`,
    msgId: hold.msgId,
    subject: hold.subject,
    correlationid: hold.envelope.correlationid,
    ...(hold.verdict.rule === undefined ? {} : { rule: hold.verdict.rule }),
    summary: `${hold.envelope.type} for ${hold.subject} is held for a pilot: ${hold.verdict.detail}`,
    detail: { type: hold.envelope.type, reason: hold.verdict.reason, heldAt: hold.heldAt },
  };
}

function agentName(agentVersion: string): string {
  const i = agentVersion.lastIndexOf('@');
  return i <= 0 ? agentVersion : agentVersion.slice(0, i);
}

/** The sentence of a drift alarm, for the feed, the alert sinks and `why`. */
export function driftSummary(a: DriftAlarm): string {
  const means =
    a.baselineMean === undefined || a.currentMean === undefined
      ? ''
      : `, mean ${a.baselineMean} → ${a.currentMean}`;
  const then =
    a.action === 'freeze'
      ? `; its output is held for a pilot (breaker ${a.monitor})`
      : a.action === 'deny'
        ? `; its output is denied (breaker ${a.monitor})`
        : '';
  return `drift ${a.monitor}: ${a.agent} ${a.type} ${a.field} drifted from ${a.baseline} (${a.metric} ${a.score} ≥ ${a.threshold} over ${a.currentCount} vs ${a.baselineCount} values${means})${then}`;
}

/**
 * The `drift.alarm` entries of an appended group (one per `drift-alarm` delta its decisions carry):
 * evidence of the alarm, written right after the decision that raised it. The state change stays in
 * the decision's deltas (recovery replays those); this entry carries none.
 */
export function driftAlarmRecords(records: readonly LedgerRecord[]): LedgerRecord[] {
  const out: LedgerRecord[] = [];
  for (const record of records) {
    const deltas = (record.data.deltas as readonly StateDelta[] | undefined) ?? [];
    for (const d of deltas) {
      if (d.kind !== 'drift-alarm') continue;
      out.push({
        kind: ENTRY.driftAlarm,
        at: d.alarm.at,
        ...(record.msgId === undefined ? {} : { msgId: record.msgId }),
        ...(record.correlationId === undefined ? {} : { correlationId: record.correlationId }),
        // Found by monitor, as a breaker's opening is by `breaker:<id>`; the agent@version is in data.
        agent: `drift:${d.alarm.monitor}`,
        data: { ...(d.alarm as unknown as JsonObject), summary: driftSummary(d.alarm) },
      });
    }
  }
  return out;
}
