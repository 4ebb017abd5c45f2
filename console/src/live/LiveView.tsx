import { useEffect, useRef, useState } from 'preact/hooks';
import { useApi } from '../api/context.js';
import { Term } from '../glossary/Term.js';
import { VerdictBadge } from '../shell/VerdictBadge.js';
import { FeedTable } from './FeedTable.js';
import { type FeedState, followFeed } from './feed-stream.js';
import { createFeedTally, decisionsIn, type FeedSnapshot, SECONDS_SHOWN } from './feed-tally.js';
import { RateBars } from './RateBars.js';

// At most four renders a second however fast decisions arrive.
const RENDER_EVERY_MS = 250;

export function LiveView() {
  const api = useApi();
  const tally = useRef(createFeedTally());
  const [snapshot, setSnapshot] = useState<FeedSnapshot>(() => tally.current.snapshot());
  const [state, setState] = useState<FeedState>('connecting');
  const [paused, setPaused] = useState(false);
  const [onlyAttention, setOnlyAttention] = useState(false);
  const openedAt = useRef(Date.now());
  const pausedRef = useRef(paused);
  pausedRef.current = paused;

  useEffect(() => {
    const abort = new AbortController();
    void followFeed(api, abort.signal, (batch) => tally.current.add(batch), setState);
    // The bars keep moving while paused; only the rows stand still so a pilot can click one.
    let frozenRows: FeedSnapshot | undefined;
    const timer = setInterval(() => {
      requestAnimationFrame(() => {
        const next = tally.current.snapshot();
        if (pausedRef.current) {
          frozenRows ??= next;
          setSnapshot({ ...next, rows: frozenRows.rows, attention: frozenRows.attention });
        } else {
          frozenRows = undefined;
          setSnapshot(next);
        }
      });
    }, RENDER_EVERY_MS);
    return () => {
      abort.abort();
      clearInterval(timer);
    };
  }, [api]);

  const t = snapshot.totals;
  return (
    <section class="view" data-testid="live-view">
      <header class="view-header">
        <h2>
          Live feed{' '}
          <span
            class={`feed-state feed-${paused ? 'paused' : state}`}
            data-testid="feed-state"
            data-paused={paused}
          >
            {paused ? '❚❚ paused' : state === 'live' ? '● live' : state}
          </span>
        </h2>
        <p class="hint">
          Decisions as they happen, with their <Term id="verdict">verdicts</Term>. Every one is also in the{' '}
          <Term id="ledger">ledger</Term>, even if this page skips some.
        </p>
      </header>
      <div class="feed-summary" data-testid="feed-totals">
        <FeedRate snapshot={snapshot} openMs={Date.now() - openedAt.current} />
        <span class="muted">since this page opened:</span>
        <VerdictBadge verdict="deliver" /> {t.deliver}
        <VerdictBadge verdict="hold" /> {t.hold}
        <VerdictBadge verdict="deny" /> {t.deny}
        <VerdictBadge verdict="quarantine" /> {t.quarantine}
        {t.dropped > 0 && (
          <span class="muted">not listed (too fast to show; all are in the ledger) {t.dropped}</span>
        )}
      </div>
      <RateBars seconds={snapshot.seconds} />
      <div class="toolbar">
        <button
          type="button"
          class="action neutral"
          onClick={() => setPaused(!paused)}
          data-testid="pause-button"
        >
          {paused ? 'Resume list' : 'Pause list'}
        </button>
        <label>
          <input
            type="checkbox"
            checked={onlyAttention}
            onChange={(e) => setOnlyAttention(e.currentTarget.checked)}
            data-testid="attention-toggle"
          />{' '}
          only held, denied and quarantined
        </label>
      </div>
      <FeedTable rows={onlyAttention ? snapshot.attention : snapshot.rows} />
    </section>
  );
}

/**
 * How many decisions the chart draws and their average rate, over the seconds this page has seen:
 * the last minute, or less while the page is younger than that.
 */
function FeedRate({ snapshot, openMs }: { snapshot: FeedSnapshot; openMs: number }) {
  // The rate is read off the very seconds the chart draws, so the two never disagree.
  const perSecond = snapshot.seconds.map((s) => decisionsIn(s.counts));
  const drawn = perSecond.reduce((a, b) => a + b, 0);
  const busiest = Math.max(0, ...perSecond);
  const seconds = Math.min(SECONDS_SHOWN, Math.max(1, Math.ceil(openMs / 1000)));
  const span = seconds < SECONDS_SHOWN ? 'since this page opened' : `in the last ${SECONDS_SHOWN} s`;
  return (
    <span data-testid="feed-rate" data-decisions={drawn} data-window-ms={seconds * 1000}>
      {drawn} {drawn === 1 ? 'decision' : 'decisions'} {span}
      {drawn > 0 && ` (${rateText(drawn / seconds)} a second on average, busiest second ${busiest})`}
    </span>
  );
}

function rateText(rate: number): string {
  return rate >= 10 ? String(Math.round(rate)) : String(Math.round(rate * 10) / 10);
}
