import { useState } from 'preact/hooks';
import { type ApiError, isApiError } from '../api/client.js';
import { useApi, useMayAct, viewerRefusal } from '../api/context.js';
import type { LedgerStatus, PartitionHead, PolicyView } from '../api/types.js';
import { usePolled } from '../api/use-polled.js';
import { Term } from '../glossary/Term.js';
import { ApiErrorNotice } from '../shell/ApiErrorNotice.js';
import { href } from '../shell/route.js';
import { timeText } from '../shell/time-text.js';
import { EntryList } from './EntryList.js';
import { VerifyStatus } from './VerifyStatus.js';

/**
 * The ledger as it is now: how long it is, its head hash (one per partition: each partition is a hash
 * chain of its own), when it was last verified and over how many entries, and its entries.
 */
export function LedgerView({ partition, pages }: { partition: number; pages: number[] }) {
  const api = useApi();
  const mayAct = useMayAct();
  const ledger = usePolled<LedgerStatus>('/ledger', 2000);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();
  // Every partition of the mesh, from the policy: GET /ledger's heads are the writer's own, which
  // leave out empty partitions and, in a cluster, those other nodes own.
  const policy = usePolled<PolicyView>('/policy', 0);
  const partitions = policy.data?.partitions ?? ledger.data?.heads.length ?? 1;
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
          Every decision and <Term id="pilot">pilot</Term> action is written to the{' '}
          <Term id="ledger">ledger</Term>, each entry chained to the one before by its hash. If anyone edits
          or removes an entry, verification names the first entry that no longer fits.
        </p>
      </header>
      <ApiErrorNotice error={ledger.error ?? error} />
      {data && (
        <>
          <VerifyStatus verify={data.lastVerify} verifying={data.verifying} entries={data.entries} />
          <button
            type="button"
            class="primary"
            onClick={verify}
            disabled={busy || !mayAct}
            title={viewerRefusal(mayAct, 'verify')}
            data-testid="verify-button"
          >
            {busy ? 'Verifying…' : 'Verify now'}
          </button>
          <LedgerFacts status={data} />
          <h3>Entries</h3>
          {partitions > 1 && (
            <label class="partition-pick">
              Partition{' '}
              <select
                value={partition}
                onChange={(e) => {
                  location.hash = href.ledger(Number(e.currentTarget.value), []);
                }}
                data-testid="ledger-partition"
                data-partitions={partitions}
              >
                {Array.from({ length: partitions }, (_, p) => (
                  <option key={p} value={p}>
                    {p}
                  </option>
                ))}
              </select>
            </label>
          )}
          <EntryList key={partition} partition={partition} partitions={partitions} pages={pages} />
        </>
      )}
    </section>
  );
}

/** The ledger's length now, its head (or heads), and its last checkpoint. */
function LedgerFacts({ status: data }: { status: LedgerStatus }) {
  return (
    <dl class="facts">
      <dt>Entries now</dt>
      <dd data-testid="ledger-entries" data-entries={data.entries}>
        {data.entries}
      </dd>
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
