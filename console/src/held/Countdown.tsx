import { durationText } from '../shell/time-text.js';
import { useNow } from '../shell/use-now.js';

const OUTCOME: Record<string, string> = { deny: 'denied', deliver: 'delivered', approve: 'approved' };

/** "denied in 3m 12s" when the hold times out, "waits for a pilot" when it never does. */
export function Countdown({ timeoutAt, onTimeout }: { timeoutAt: string | null; onTimeout: string | null }) {
  const now = useNow();
  if (timeoutAt === null) {
    return (
      <span class="countdown waits" data-testid="hold-countdown">
        waits for a pilot
      </span>
    );
  }
  const left = new Date(timeoutAt).getTime() - now;
  const outcome = OUTCOME[onTimeout ?? ''] ?? onTimeout ?? 'released';
  return (
    <span
      class={`countdown ${left < 5 * 60_000 ? 'soon' : ''}`}
      data-testid="hold-countdown"
      title={timeoutAt}
    >
      {left > 0 ? `${outcome} in ${durationText(left)}` : `${outcome} now (timed out)`}
    </span>
  );
}
