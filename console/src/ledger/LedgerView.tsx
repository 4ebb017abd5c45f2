import { useState } from 'preact/hooks';
import { type ApiError, isApiError } from '../api/client.js';
import { useApi } from '../api/context.js';
import type { LedgerStatus, PartitionHead } from '../api/types.js';
import { usePolled } from '../api/use-polled.js';
import { ApiErrorNotice } from '../shell/ApiErrorNotice.js';
import { timeText } from '../shell/time-text.js';
import { VerifyStatus } from './VerifyStatus.js';

/**
 * The ledger's integrity: how long it is, its head hash (one per partition: each partition is a hash
 * chain of its own), and whether it last verified intact.
 */
export function LedgerView() {
  const api = useApi();
  const ledger = usePolled<LedgerStatus>('/ledger', 5000);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();
  const data = ledger.data;

  const verify = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await api.post('/ledger/verify');
      ledger.refresh();
    } catch (err) {
      setError(isApiError(err) ? err : { status: 0, code: 'CONSOLE', message: String(err) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="view" data-testid="ledger-view">
      <header class="view-header">
        <h2>Ledger</h2>
        <p class="hint">
          Every decision and pilot action is written here, each entry chained to the one before by its hash.
          If anyone edits or removes an entry, verification names the first entry that no longer fits.
        </p>
      </header>
      <ApiErrorNotice error={ledger.error ?? error} />
      {data && (
        <>
          <VerifyStatus verify={data.lastVerify} />
          <button type="button" class="primary" onClick={verify} disabled={busy} data-testid="verify-button">
            {busy ? 'Verifying…' : 'Verify now'}
          </button>
          <dl class="facts">
            <dt>Entries</dt>
            <dd data-testid="ledger-entries">{data.entries}</dd>
            {data.heads.length > 1 ? (
              <>
                <dt>Heads</dt>
                <dd>
                  <PartitionHeads heads={data.heads} testid="ledger-heads" />
                </dd>
              </>
            ) : (
              <>
                <dt>Head</dt>
                <dd>
                  <code class="hash" data-testid="ledger-head">
                    {data.head}
                  </code>
                </dd>
              </>
            )}
            <dt>Last checkpoint</dt>
            <dd data-testid="ledger-checkpoint">
              {data.lastCheckpoint === null || data.lastCheckpoint === undefined ? (
                'none yet'
              ) : (
                <>
                  {data.lastCheckpoint.size} entries at {timeText(data.lastCheckpoint.at)}
                  {data.lastCheckpoint.heads.length > 1 ? (
                    <PartitionHeads heads={data.lastCheckpoint.heads} testid="checkpoint-heads" />
                  ) : (
                    <>
                      , <code class="hash">{data.lastCheckpoint.head}</code>
                    </>
                  )}
                </>
              )}
            </dd>
          </dl>
        </>
      )}
    </section>
  );
}

/** Every partition's size and head hash, partition 0 first. */
function PartitionHeads({ heads, testid }: { heads: readonly PartitionHead[]; testid: string }) {
  return (
    <ul class="partition-heads" data-testid={testid}>
      {heads.map((h) => (
        <li key={h.partition} data-testid="partition-head" data-partition={h.partition}>
          Partition {h.partition}: {h.size} entries, <code class="hash">{h.head}</code>
        </li>
      ))}
    </ul>
  );
}
