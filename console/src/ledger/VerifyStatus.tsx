import type { VerifyResult, VerifyRunning } from '../api/types.js';
import { Age } from '../shell/CodeWords.js';
import { timeText } from '../shell/time-text.js';

/**
 * The last verification said plainly: when it ran, over how many entries, and what it found; and how
 * many entries were written since, which no verification has checked yet.
 */
export function VerifyStatus({
  verify,
  verifying,
  entries,
}: {
  verify: VerifyResult | null;
  verifying?: VerifyRunning | null | undefined;
  entries: number;
}) {
  const running = verifying === null || verifying === undefined ? null : <VerifyUnderWay run={verifying} />;
  if (verify === null || verify === undefined) {
    return (
      running ?? (
        <p class="verify-status unknown" data-testid="verify-status" data-ok="unknown">
          Not verified yet: press “Verify now” to check all {entries.toLocaleString('en')} entries.
        </p>
      )
    );
  }
  // Only an intact verification vouches for what it read; a tampered one stopped at its first bad entry.
  const since = verify.ok ? Math.max(0, entries - (verify.size ?? verify.entries)) : 0;
  const when = (
    <>
      {timeText(verify.at)} (<Age at={verify.at} />)
    </>
  );
  return (
    <>
      {verify.ok ? (
        <p class="verify-status ok" data-testid="verify-status" data-ok="true" data-verified={verify.entries}>
          ✔ Last verification, at {when}, checked {plural(verify.entries, 'entry', 'entries')}: all intact.
        </p>
      ) : (
        <p
          class="verify-status tampered"
          data-testid="verify-status"
          data-ok="false"
          data-verified={verify.entries}
          data-size={verify.size}
          role="alert"
        >
          ✖ TAMPERED: the last verification, at {when}, found that the first bad entry is{' '}
          <code>{describeBad(verify.firstBad)}</code>. {checkedGood(verify)}
        </p>
      )}
      {running}
      {since > 0 && running === null && (
        <p class="verify-since" data-testid="verify-unverified" data-count={since}>
          {plural(since, 'entry has', 'entries have')} been written since then and not verified yet. Press
          “Verify now” to check the whole ledger as it is now.
        </p>
      )}
    </>
  );
}

/** A verification still reading: the one `up` starts as it begins serving, or a pilot's. */
function VerifyUnderWay({ run }: { run: VerifyRunning }) {
  const share = run.total > 0 ? ` (${Math.floor((100 * run.read) / run.total)} %)` : '';
  return (
    <p class="verify-status running" data-testid="verify-running" data-read={run.read} data-total={run.total}>
      ⧗ Verifying now, since {timeText(run.startedAt)} (<Age at={run.startedAt} />
      ): {run.read.toLocaleString('en')} of {plural(run.total, 'entry', 'entries')} read{share}. The mesh
      serves meanwhile; the result shows here when it is done.
    </p>
  );
}

/** Which entries a failed verification read and found good: those before its first bad one. */
function checkedGood(verify: VerifyResult): string {
  const bad = verify.firstBad as { partition?: unknown; seq?: unknown } | undefined;
  const of = verify.size === undefined ? '' : ` of the ${verify.size} the ledger held`;
  if (verify.entries === 0) return `No entry${of} was found good: the check stopped at the first.`;
  let where = '';
  if (typeof bad?.partition === 'number' && typeof bad.seq === 'number') {
    // Verification reads partition by partition, each from seq 1.
    const parts = [];
    if (bad.partition > 0)
      parts.push(bad.partition === 1 ? 'all of partition 0' : `all of partitions 0 to ${bad.partition - 1}`);
    if (bad.seq > 1) parts.push(`entries 1 to ${bad.seq - 1} of partition ${bad.partition}`);
    where = ` (${parts.join(', and ')})`;
  }
  return `Only the ${plural(verify.entries, 'entry', 'entries')}${of} read before it${where} were checked good; none after it was checked.`;
}

function plural(n: number, one: string, many: string): string {
  return `${n.toLocaleString('en')} ${n === 1 ? one : many}`;
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
