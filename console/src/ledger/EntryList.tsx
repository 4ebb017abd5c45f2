import type { Decision, LedgerEntryView, LedgerPage, Outcome } from '../api/types.js';
import { usePolled } from '../api/use-polled.js';
import { ApiErrorNotice } from '../shell/ApiErrorNotice.js';
import { AgentName, RuleWords } from '../shell/CodeWords.js';
import { outcomeWords, releaseAnswer } from '../shell/outcome-words.js';
import { href } from '../shell/route.js';
import { timeText } from '../shell/time-text.js';
import { VerdictBadge } from '../shell/VerdictBadge.js';
import { entryKindWords } from '../shell/words.js';

const PAGE = 25;

/**
 * One partition's entries, newest first, a page at a time. The newest page follows the ledger as it
 * grows (polled); an older page stands still so a pilot can read it.
 */
export function EntryList({
  partition,
  partitions,
  pages: before,
}: {
  partition: number;
  partitions: number;
  /** The older pages opened, from the address (`#/ledger?pages=…`): Back returns to the newer one. */
  pages: number[];
}) {
  const setBefore = (next: (b: number[]) => number[]) => {
    location.hash = href.ledger(partition, next(before));
  };
  const cursor = before.at(-1);
  const query = new URLSearchParams({ partition: String(partition), limit: String(PAGE) });
  if (cursor !== undefined) query.set('before', String(cursor));
  const page = usePolled<LedgerPage>(`/ledger/entries?${query}`, cursor === undefined ? 2000 : 0);
  const data = page.data;
  return (
    <div class="entry-list" data-testid="ledger-entry-list" data-size={data?.size} data-before={cursor}>
      <ApiErrorNotice error={page.error} />
      {data !== undefined && (
        <>
          <p class="muted">
            {partitions > 1 ? `Partition ${partition}: ` : ''}
            {data.entries.length === 0
              ? 'no entries.'
              : `entries ${data.entries.at(-1)?.seq} to ${data.entries[0]?.seq} of ${data.size} when read, newest first${cursor === undefined ? ' (this page follows new entries as they are written)' : ''}.`}
          </p>
          {data.entries.length > 0 && (
            <table class="table" data-testid="ledger-entries-table">
              <thead>
                <tr>
                  <th>#</th>
                  <th>When</th>
                  <th>What</th>
                  <th>About</th>
                  <th>Who</th>
                  <th>Result</th>
                </tr>
              </thead>
              <tbody>
                {data.entries.map((e) => (
                  <EntryRow key={`${e.partition}:${e.seq}`} entry={e} />
                ))}
              </tbody>
            </table>
          )}
          <div class="toolbar">
            <button
              type="button"
              class="action neutral"
              disabled={cursor === undefined}
              onClick={() => setBefore((b) => b.slice(0, -1))}
              data-testid="ledger-newer"
            >
              ← Newer
            </button>
            <button
              type="button"
              class="action neutral"
              disabled={data.next === null}
              onClick={() => {
                const next = data.next;
                // A double click must not record the same page twice (Newer would then stand still).
                if (next !== null) setBefore((b) => (b.at(-1) === next ? b : [...b, next]));
              }}
              data-testid="ledger-older"
            >
              Older →
            </button>
          </div>
        </>
      )}
    </div>
  );
}

/** One entry in words: where it sits in its chain, what it is, what it is about, who, and the result. */
function EntryRow({ entry: e }: { entry: LedgerEntryView }) {
  return (
    <tr data-testid="ledger-entry" data-partition={e.partition} data-seq={e.seq} data-kind={e.kind}>
      <td title={e.hash}>{e.seq}</td>
      <td>{timeText(e.at)}</td>
      <td>
        {entryKindWords(e.kind)} <span class="code small">{e.kind}</span>
      </td>
      <td>
        {e.msgId === undefined ? (
          (e.type ?? '—')
        ) : (
          <a href={href.message(e.msgId)} data-testid="ledger-entry-link" data-message-id={e.msgId}>
            {e.type ?? 'the message'}
          </a>
        )}
        {e.subject !== undefined && <div class="muted">{e.subject}</div>}
      </td>
      <td>{e.agent === undefined ? '—' : <AgentName raw={e.agent} />}</td>
      {e.kind === 'hold.released' ? (
        // In the words Search and the lineage use; its verdict, if any, is the re-check's.
        <td
          data-testid="ledger-entry-answer"
          data-answer={releaseAnswer(releasedOutcome(e))}
          data-refused={e.reason}
        >
          {outcomeWords(releasedOutcome(e))}
        </td>
      ) : (
        <td>
          {e.decision !== undefined && <VerdictBadge verdict={e.decision as Decision} />}{' '}
          {e.reason !== undefined && e.reason !== 'gate.admitted' && (
            // With its rule, so a freeze names what froze it, in the words Held uses.
            <RuleWords
              reason={e.reason}
              {...(e.stage === undefined ? {} : { stage: e.stage })}
              {...(e.rule === undefined ? {} : { rule: e.rule })}
            />
          )}
          {e.action !== undefined && (ACTION_WORDS[e.action] ?? e.action)}
          {e.kind === 'effect.executed' && 'done'}
        </td>
      )}
    </tr>
  );
}

/** A pilot's action entry in words; one not listed shows as the ledger names it. */
const ACTION_WORDS: Record<string, string> = {
  freeze: 'frozen by a pilot',
  unfreeze: 'unfrozen by a pilot',
  reset: 'breaker reset by a pilot',
};

/** A `hold.released` entry as the outcome of its message, which `outcomeWords` says. */
function releasedOutcome(e: LedgerEntryView): Outcome {
  return {
    kind: e.kind,
    agent: e.agent ?? null,
    at: e.at,
    ...(e.outcome === undefined ? {} : { outcome: e.outcome }),
    ...(e.decision === undefined
      ? {}
      : { verdict: { decision: e.decision, reason: e.reason ?? '', detail: '' } }),
  };
}
