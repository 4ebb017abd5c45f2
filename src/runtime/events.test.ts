import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createEventHub, type MeshEvent } from './events.js';

const at = 1_700_000_000_000;
const events: MeshEvent[] = [
  { type: 'delivered', at, msgId: 'm', correlationid: 'c', agent: 'a', emitted: [] },
  { type: 'alarm', at, event: 'breaker.opened', key: 'k', partition: 0, summary: 's' },
  { type: 'dead-letter', at, msgId: 'm', worker: 'a', code: 'X', message: 'x' },
  { type: 'released', at, msgId: 'm', outcome: 'deny', by: 'timeout', messageType: 't', subject: 's' },
];

describe('createEventHub', () => {
  it('an alarm listener (the alerter) hears alarms, dead letters and releases, and leaves listening() off', () => {
    const hub = createEventHub(pino({ level: 'silent' }));
    const heard: string[] = [];
    hub.subscribeAlarms((e) => heard.push(e.type));
    expect(hub.listening()).toBe(false);
    for (const e of events) hub.publish(e);
    expect(heard).toEqual(['alarm', 'dead-letter', 'released']);
    const all: string[] = [];
    hub.subscribe((e) => all.push(e.type));
    expect(hub.listening()).toBe(true);
    for (const e of events) hub.publish(e);
    expect(all).toEqual(['delivered', 'alarm', 'dead-letter', 'released']);
  });
});
