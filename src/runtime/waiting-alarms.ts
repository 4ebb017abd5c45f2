import type { Logger } from 'pino';
import type { Clock } from './envelopes.js';
import type { MeshEvent, OutsideAlarm } from './events.js';

/** At most this many alarms wait, one per event and key (a repeat replaces the one waiting). */
const MAX_WAITING = 100;

/**
 * Alarms from outside the gate (`Mesh.raise`) that a cluster node owning no partition cannot record:
 * its start-up verify can end before its first take-over, and a node beyond the partition count may
 * own none for long. The latest of each event and key waits, with the time it was raised, and goes
 * out with the first partition the node takes over; what still waits when it closes is logged.
 */
export function waitingAlarms(publish: (event: MeshEvent) => void, clock: Clock, log: Logger) {
  const waiting = new Map<string, { readonly at: number; readonly alarm: OutsideAlarm }>();
  return {
    hold(alarm: OutsideAlarm): void {
      const id = `${alarm.event} ${alarm.key}`;
      waiting.delete(id); // in raising order: the oldest goes first when there are too many
      waiting.set(id, { at: clock(), alarm });
      if (waiting.size > MAX_WAITING) waiting.delete(waiting.keys().next().value!);
      log.info(
        { event: alarm.event, key: alarm.key },
        'alarm held until this node owns a partition to record it in',
      );
    },
    raiseIn(partition: number): void {
      const now = clock();
      for (const { at, alarm } of waiting.values()) {
        // Sent late: the page says so, beside the time it was raised.
        const held = Math.round((now - at) / 1000);
        const summary =
          held < 1
            ? alarm.summary
            : `${alarm.summary} (held ${held} s: this node owned no partition to record it in)`;
        publish({ type: 'alarm', at, partition, ...alarm, summary });
      }
      waiting.clear();
    },
    close(): void {
      if (waiting.size === 0) return;
      const alarms = [...waiting.values()].map(({ at, alarm }) => ({
        at,
        event: alarm.event,
        key: alarm.key,
      }));
      log.warn(
        { alarms },
        'alarms not raised: this node owned no partition to record them in before it closed',
      );
      waiting.clear();
    },
  };
}
