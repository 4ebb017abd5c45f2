import { VerdictBadge } from '../shell/VerdictBadge.js';

/** Explains the colours and the node shapes once, next to the picture. */
export function VerdictLegend() {
  return (
    <div class="legend">
      <VerdictBadge verdict="deliver" />
      <VerdictBadge verdict="hold" />
      <VerdictBadge verdict="deny" />
      <VerdictBadge verdict="quarantine" />
      <span class="legend-idle">grey: quiet</span>
      <span class="legend-shape">
        <svg width="22" height="14" aria-hidden="true">
          <rect x="1" y="1" width="20" height="12" rx="6" class="legend-node" />
        </svg>
        way in
      </span>
      <span class="legend-shape">
        <svg width="22" height="14" aria-hidden="true">
          <rect x="1" y="1" width="20" height="12" rx="3" class="legend-node" />
        </svg>
        agent
      </span>
      <span class="legend-shape">
        <svg width="22" height="14" aria-hidden="true">
          <polygon points="1,7 6,1 16,1 21,7 16,13 6,13" class="legend-node" />
        </svg>
        side effect
      </span>
    </div>
  );
}
