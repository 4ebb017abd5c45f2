import type { AlertsPolicy, Policy } from '../policy/index.js';
import type { AlarmInput } from './alert-input.js';

/** `hold.expiring`: `alerts.holdExpiring` before an approval hold's timeout, if it is still held then. */
export type HoldExpiry = {
  arm(settings: AlertsPolicy, created: AlarmInput, now: number): void;
  close(): void;
};

export function createHoldExpiry(deps: {
  readonly policy: () => Policy;
  readonly stillHeld: (msgId: string) => boolean;
  readonly clock: () => number;
  readonly raise: (alarm: AlarmInput) => void;
}): HoldExpiry {
  const timers = new Set<NodeJS.Timeout>();
  return {
    arm(settings, created, now) {
      if (!settings.routes.some((r) => r.on.includes('hold.expiring')) || created.msgId === undefined) return;
      const rule = deps.policy().approvals.find((a) => a.id === created.rule);
      if (rule === undefined) return; // a loop or freeze hold waits for a pilot, with no timeout
      const heldAt = typeof created.detail?.heldAt === 'number' ? created.detail.heldAt : now;
      const timeoutAt = heldAt + rule.timeoutMs;
      const msgId = created.msgId;
      const timer = setTimeout(
        () => {
          timers.delete(timer);
          if (!deps.stillHeld(msgId)) return;
          const minutes = Math.max(1, Math.round((timeoutAt - deps.clock()) / 60_000));
          deps.raise({
            ...created,
            event: 'hold.expiring',
            summary: `${created.summary}; it times out (${rule.onTimeout}) in about ${minutes} min`,
            detail: { ...created.detail, timeoutAt, onTimeout: rule.onTimeout },
          });
        },
        Math.max(0, timeoutAt - settings.holdExpiringMs - now),
      );
      timer.unref();
      timers.add(timer);
    },
    close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}
