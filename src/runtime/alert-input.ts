import type { AlertEventName } from '../policy/index.js';
import type { MeshEvent } from './events.js';

/** An alarm as routes read it: a published `alarm`, or the events that were alerts before there were sinks. */
export type AlarmInput = Omit<Extract<MeshEvent, { type: 'alarm' }>, 'type' | 'partition' | 'event'> & {
  readonly event: AlertEventName;
  readonly partition?: number;
};

/**
 * The alarm a mesh event raises, if any. Pure. A dead letter is keyed by its worker (an agent, an
 * effect), so a failing agent pages once per window, not once per message; an alert's own dead
 * letter raises nothing (a failing sink must not alert about itself without end).
 */
export function alarmOf(event: MeshEvent): AlarmInput | undefined {
  switch (event.type) {
    case 'alarm': {
      const { type: _, ...alarm } = event;
      return alarm;
    }
    case 'dead-letter':
      if (event.worker.startsWith('alert:')) return undefined;
      return {
        at: event.at,
        event: 'dead-letter',
        key: event.worker,
        msgId: event.msgId,
        ...(event.subject === undefined ? {} : { subject: event.subject }),
        ...(event.correlationid === undefined ? {} : { correlationid: event.correlationid }),
        summary: `${event.worker} gave up on message ${event.msgId} after its last try: ${event.message}`,
        detail: { worker: event.worker, code: event.code },
      };
    case 'alert':
      return {
        at: event.at,
        event: 'predicate.error',
        key: event.rule,
        msgId: event.msgId,
        ...(event.subject === undefined ? {} : { subject: event.subject }),
        ...(event.correlationid === undefined ? {} : { correlationid: event.correlationid }),
        rule: event.rule,
        summary: `approval ${event.rule} could not be evaluated, so the message is held: ${event.detail}`,
        detail: { reason: event.reason },
      };
    default:
      return undefined;
  }
}

/** The console's page for an alarm: its message's lineage, or the breakers view. */
export function linkOf(console: string | undefined, alarm: AlarmInput): string | undefined {
  if (console === undefined) return undefined;
  if (alarm.msgId !== undefined) return `${console}/#/message/${encodeURIComponent(alarm.msgId)}`;
  if (alarm.event.startsWith('breaker.')) return `${console}/#/breakers`;
  return `${console}/`;
}
