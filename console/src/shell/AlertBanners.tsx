import { useState } from 'preact/hooks';
import type { Stats } from '../api/types.js';
import { usePolled } from '../api/use-polled.js';
import { href } from './route.js';

/**
 * Alerts a pilot must see on every page: an approval rule whose predicate cannot be evaluated holds
 * every message it fails on. One banner per rule, with how many so far; a dismissed banner comes
 * back when the count grows.
 */
export function AlertBanners() {
  const stats = usePolled<Stats>('/stats', 2000);
  const [dismissed, setDismissed] = useState<Record<string, number>>({});
  const alerts = (stats.data?.alerts ?? []).filter((a) => (dismissed[a.rule] ?? 0) < a.count);
  if (alerts.length === 0) return null;
  return (
    <div class="alerts" data-testid="alert-banners">
      {alerts.map((a) => (
        <div
          key={a.rule}
          class="notice error alert-banner"
          role="alert"
          data-testid="alert-banner"
          data-rule={a.rule}
          data-count={a.count}
        >
          <p>
            <strong>
              Approval rule <span class="code">{a.rule}</span> cannot be evaluated
            </strong>{' '}
            <span data-testid="alert-count">
              {a.count} {a.count === 1 ? 'message' : 'messages'}
            </span>{' '}
            held so far (latest:{' '}
            <a href={href.message(a.id)} class="code">
              {a.id}
            </a>
            ).
          </p>
          <p data-testid="alert-detail">{a.detail}</p>
          <p class="muted">
            Each is waiting in Held for a decision. Fix the rule's <span class="code">when</span> in the mesh
            file and reload the policy.
          </p>
          <button
            type="button"
            class="action neutral"
            onClick={() => setDismissed({ ...dismissed, [a.rule]: a.count })}
            data-testid="alert-dismiss"
          >
            Dismiss
          </button>
        </div>
      ))}
    </div>
  );
}
