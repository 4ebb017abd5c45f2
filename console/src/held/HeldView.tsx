import { useEffect, useRef, useState } from 'preact/hooks';
import { useMayAct } from '../api/context.js';
import type { Breakers, Hold } from '../api/types.js';
import { type Polled, usePolled } from '../api/use-polled.js';
import { Term } from '../glossary/Term.js';
import { ApiErrorNotice } from '../shell/ApiErrorNotice.js';
import { AnsweredElsewhere, type AnsweredHold } from './AnsweredElsewhere.js';
import { freezesOf } from './freezes.js';
import { HoldCard, type HoldCardWatch } from './HoldCard.js';

/** The held queue; the shell polls it (every 2 s, and after each answer) and shares it with the nav. */
export function HeldView({ holds }: { holds: Polled<{ holds: Hold[] }> }) {
  const list = holds.data?.holds;
  // What is frozen now, so approving says what it will and will not do. Not read yet (or not
  // readable) is not "not frozen": the approve form then waits for it.
  const breakers = usePolled<Breakers>('/breakers', 2000);
  const open = breakers.data?.breakers;
  const { gone, watch, dismiss } = useAnswers(list);
  const mayAct = useMayAct();
  return (
    <section class="view" data-testid="held-view">
      <header class="view-header">
        <h2>Held for a pilot {list !== undefined && <span class="count">{list.length}</span>}</h2>
        <p class="hint">
          These messages and <Term id="side-effect">side effects</Term> are <Term id="hold">held</Term>: they
          wait for a decision. Approve lets them through, reject drops them; both are written to the{' '}
          <Term id="ledger">ledger</Term> with your name and reason.
        </p>
      </header>
      <ApiErrorNotice error={holds.error} />
      {!mayAct && (
        <p class="notice info" data-testid="viewer-notice">
          You are signed in with a viewer’s token: you see everything, and only a pilot’s token can approve or
          reject.
        </p>
      )}
      <AnsweredElsewhere gone={gone} onDismiss={dismiss} />
      {breakers.error !== undefined && (
        <div data-testid="breakers-error">
          <p class="muted">
            Which subjects, agents and paths are frozen could not be read
            {open === undefined
              ? ': approving waits until it can be.'
              : '; what is shown is from the last read.'}
          </p>
          <ApiErrorNotice error={breakers.error} />
        </div>
      )}
      {list === undefined && holds.error === undefined && <p class="muted">Loading…</p>}
      {list?.length === 0 && (
        <p class="empty" data-testid="held-empty">
          Nothing is waiting for a pilot.
        </p>
      )}
      <div class="cards">
        {list?.map((hold) => (
          <HoldCard
            key={hold.id}
            hold={hold}
            freezes={open === undefined ? undefined : freezesOf(hold, open)}
            onChanged={holds.refresh}
            watch={watch}
          />
        ))}
      </div>
    </section>
  );
}

/** Answers said above the queue at once, the newest kept. */
const KEPT = 5;

/**
 * This pilot's own answers, confirmed, and holds answered by someone else while this pilot was answering them: refused by the warden
 * (MW_PILOT_NOT_HELD, with who answered first), or gone from the queue while a reason form was
 * open. Each is said until dismissed, so no card's going reads as the pilot's own answer.
 */
function useAnswers(list: Hold[] | undefined) {
  const [gone, setGone] = useState<AnsweredHold[]>([]);
  /** Holds with an open reason form: their titles, by id. */
  const drafts = useRef(new Map<string, string>());
  // Newest last, at most a handful: a pilot clearing a queue need not dismiss every answer.
  const add = (g: AnsweredHold) => setGone((now) => [...now.filter((x) => x.id !== g.id), g].slice(-KEPT));
  useEffect(() => {
    if (list === undefined) return;
    const here = new Set(list.map((h) => h.id));
    for (const [id, title] of drafts.current) {
      if (here.has(id)) continue;
      drafts.current.delete(id);
      add({ id, title });
    }
  }, [list]);
  const watch: HoldCardWatch = {
    drafting: (hold, title, open) => {
      if (open) drafts.current.set(hold.id, title);
      else drafts.current.delete(hold.id);
    },
    refused: (hold, title, tried, error) => {
      // Any other refusal (a viewer's token, a closing warden) leaves the hold where it was.
      if (error.code !== 'MW_PILOT_NOT_HELD') return;
      drafts.current.delete(hold.id);
      add({
        id: hold.id,
        title,
        tried,
        ...(error.answered === undefined ? {} : { answered: error.answered }),
      });
    },
    answered: (hold, title, tried, reply) => {
      const refused = reply.verdict?.reason;
      add({
        id: hold.id,
        title,
        tried,
        mine: { outcome: reply.outcome, ...(refused === undefined ? {} : { refused }) },
      });
    },
  };
  const dismiss = (id: string) => setGone((now) => now.filter((g) => g.id !== id));
  return { gone, watch, dismiss };
}
