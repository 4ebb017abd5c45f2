import type { LedgerRecord } from '../ledger/index.js';
import { parseBreakerKey, type StateDelta } from '../state/index.js';
import type { MeshEvent } from './events.js';

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
    if (d.kind === 'breaker-open' || d.kind === 'breaker-close' || d.kind === 'hold-open') return true;
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
  if (d.kind === 'hold-open') {
    const { hold } = d;
    out.push({
      type: 'alarm',
      at,
      event: 'hold.created',
      // Holds of one subject for one rule are one alert within a route's dedupe window, the others
      // counted: a frozen account's storm of held messages pages once, not once a message.
      key: `${hold.verdict.rule ?? hold.verdict.reason}|${hold.subject}`,
      ...about,
      msgId: hold.msgId,
      subject: hold.subject,
      correlationid: hold.envelope.correlationid,
      ...(hold.verdict.rule === undefined ? {} : { rule: hold.verdict.rule }),
      summary: `${hold.envelope.type} for ${hold.subject} is held for a pilot: ${hold.verdict.detail}`,
      detail: { type: hold.envelope.type, reason: hold.verdict.reason, heldAt: hold.heldAt },
    });
  }
}
