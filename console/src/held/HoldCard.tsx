import { type ApiError, isApiError } from '../api/client.js';
import { useApi } from '../api/context.js';
import type { Breaker, Hold } from '../api/types.js';
import { Age, AgentName, RuleWords } from '../shell/CodeWords.js';
import { detailWords } from '../shell/detail-words.js';
import { freezeGone, frozenWhat } from '../shell/freezes.js';
import { ReasonedAction } from '../shell/ReasonedAction.js';
import { href } from '../shell/route.js';
import { timeText } from '../shell/time-text.js';
import { frozenByWords } from '../shell/words.js';
import { Countdown } from './Countdown.js';
import { FrozenWarning, StepLimitWarning } from './FrozenWarning.js';

/** What the held queue hears of a card's answers (HeldView's `useAnswers`). */
export type HoldCardWatch = {
  /** A reason form opened or closed (closed on success too, before the queue is read again). */
  drafting(hold: Hold, title: string, open: boolean): void;
  /** An answer is on its way (true) or was replied to (false): the hold leaves the queue meanwhile. */
  sending(hold: Hold, on: boolean): void;
  /** The warden refused an answer. */
  refused(hold: Hold, title: string, tried: 'approve' | 'reject', error: ApiError): void;
  /** The warden recorded this pilot's answer. */
  answered(hold: Hold, title: string, tried: 'approve' | 'reject', reply: Released): void;
};

/** `POST /holds/{id}/approve|reject`'s reply: what became of it (a re-check's refusal in `verdict`). */
type Released = { outcome: 'deliver' | 'deny'; verdict?: { reason: string } };

/** One held message or effect: what it is, why it waits, and the pilot's two answers. */
export function HoldCard({
  hold,
  freezes,
  maxHops,
  loopAction,
  onChanged,
  watch,
}: {
  hold: Hold;
  /** The freezes open now on what it is about (freezes.ts); undefined while not known. */
  freezes: Breaker[] | undefined;
  /** The loop guard's step limit and action (GET /policy); undefined while not known. */
  maxHops?: number | undefined;
  loopAction?: 'freeze' | 'deny' | undefined;
  onChanged: () => void;
  watch?: HoldCardWatch;
}) {
  const api = useApi();
  const path = `/holds/${encodeURIComponent(hold.id)}`;
  const title = `${hold.type} for ${hold.subject}`;
  /** Sends an answer; a refusal is told to the queue (it outlives this card), then shown here. */
  const answer = (tried: 'approve' | 'reject') => async (reason: string) => {
    watch?.sending(hold, true);
    try {
      const reply = await api.post<Released>(`${path}/${tried}`, { reason });
      watch?.drafting(hold, title, false);
      watch?.answered(hold, title, tried, reply);
    } catch (err) {
      if (isApiError(err)) watch?.refused(hold, title, tried, err);
      // Answered elsewhere first: said above the queue; the form closes, and the card goes with the
      // queue read that follows (ReasonedAction's onDone).
      if (isApiError(err) && err.code === 'MW_PILOT_NOT_HELD') return;
      throw err;
    } finally {
      watch?.sending(hold, false);
    }
  };
  const drafting = (open: boolean) => watch?.drafting(hold, title, open);
  return (
    <article
      class="card hold-card"
      data-testid="hold-card"
      data-hold-id={hold.id}
      data-subject={hold.subject}
    >
      <header>
        <h3>
          <span class="hold-type" data-testid="hold-type">
            {hold.type}
          </span>{' '}
          for <span data-testid="hold-subject">{hold.subject}</span>
        </h3>
        <Countdown timeoutAt={hold.timeoutAt} onTimeout={hold.onTimeout} />
      </header>
      <HoldFacts hold={hold} freezes={freezes} />
      <footer class="actions">
        <a href={href.message(hold.id)} data-testid="hold-lineage-link">
          Show why it happened
        </a>
        <ReasonedAction
          label="Approve"
          tone="good"
          testid="approve-button"
          question={`Why approve this ${hold.type}?`}
          act={answer('approve')}
          onDone={onChanged}
          warning={
            <>
              <FrozenWarning hold={hold} freezes={freezes} />
              <StepLimitWarning hold={hold} maxHops={maxHops} loopAction={loopAction} />
            </>
          }
          blocked={freezes === undefined}
          onOpenChange={drafting}
        />
        <ReasonedAction
          label="Reject"
          tone="bad"
          testid="reject-button"
          question={`Why reject this ${hold.type}?`}
          act={answer('reject')}
          onDone={onChanged}
          onOpenChange={drafting}
        />
      </footer>
    </article>
  );
}

/** What the hold is about, why it waits, what is frozen, where it came from. */
function HoldFacts({ hold, freezes }: { hold: Hold; freezes: Breaker[] | undefined }) {
  const what = hold.gated === 'effect' ? 'side effect' : 'message';
  // Held by a freeze that is gone now (unfrozen or reset): say what was true then, and that it still waits.
  const causeGone = freezeGone(hold, freezes);
  return (
    <dl class="facts">
      <dt>Why held</dt>
      <dd data-testid="hold-why">
        <strong>
          <RuleWords reason={hold.reason} stage={hold.stage} rule={hold.rule} past={causeGone} />
        </strong>
        {hold.rule !== null && (
          <>
            {' '}
            · rule <code>{hold.rule}</code>
          </>
        )}
        <div data-testid="hold-detail" data-tense={causeGone ? 'then' : 'now'}>
          {detailWords(hold.detail, causeGone ? 'then' : 'now')}
          {causeGone && ' That freeze is gone now; it still waits for a pilot to approve or reject it.'}
        </div>
      </dd>
      {freezes !== undefined && freezes.length > 0 && (
        <>
          <dt>Frozen</dt>
          <dd data-testid="hold-frozen">
            {freezes.map((b, i) => (
              <span key={`${b.id} ${b.key}`}>
                {i > 0 && ' and '}
                {frozenWhat(b, hold.subject)} by {frozenByWords(b.id, b.by)}, <Age at={b.openedAt} />
              </span>
            ))}
          </dd>
        </>
      )}
      {hold.predicate !== null && (
        <>
          <dt>Condition</dt>
          <dd>
            <code class="predicate" data-testid="hold-predicate">
              {hold.predicate}
            </code>
          </dd>
        </>
      )}
      {hold.node !== undefined && (
        <>
          <dt>On node</dt>
          <dd data-testid="hold-node">{hold.node}</dd>
        </>
      )}
      <dt>Data</dt>
      <dd>
        <pre class="data">{JSON.stringify(hold.data, null, 2)}</pre>
      </dd>
      <dt>From</dt>
      <dd>
        {what} from <AgentName raw={hold.source} />, step {hold.hop} of its case, held at{' '}
        {timeText(hold.heldAt)}
      </dd>
    </dl>
  );
}
