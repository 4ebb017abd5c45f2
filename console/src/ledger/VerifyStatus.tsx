import type { VerifyResult } from '../api/types.js';
import { timeText } from '../shell/time-text.js';

/** The last verification, in words: intact, or TAMPERED with the first bad entry. */
export function VerifyStatus({ verify }: { verify: VerifyResult | null }) {
  if (verify === null || verify === undefined) {
    return (
      <p class="verify-status unknown" data-testid="verify-status" data-ok="unknown">
        Not verified yet.
      </p>
    );
  }
  if (verify.ok) {
    return (
      <p class="verify-status ok" data-testid="verify-status" data-ok="true">
        ✔ Intact: {verify.entries} entries verified at {timeText(verify.at)}.
      </p>
    );
  }
  return (
    <p class="verify-status tampered" data-testid="verify-status" data-ok="false" role="alert">
      ✖ TAMPERED: the first bad entry is <code>{describeBad(verify.firstBad)}</code> (verified at{' '}
      {timeText(verify.at)}).
    </p>
  );
}

function describeBad(firstBad: unknown): string {
  if (firstBad === undefined || firstBad === null) return 'unknown';
  if (typeof firstBad !== 'object') return String(firstBad);
  const bad = firstBad as Record<string, unknown>;
  const where = ['partition', 'seq', 'index']
    .filter((k) => bad[k] !== undefined)
    .map((k) => `${k} ${bad[k]}`)
    .join(', ');
  return where === '' ? JSON.stringify(firstBad) : where;
}
