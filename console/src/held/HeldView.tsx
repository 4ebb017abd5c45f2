import { useEffect } from 'preact/hooks';
import { useMayAct } from '../api/context.js';
import type { Breakers, Hold, PolicyView } from '../api/types.js';
import { type Polled, usePolled } from '../api/use-polled.js';
import { Term } from '../glossary/Term.js';
import { ApiErrorNotice } from '../shell/ApiErrorNotice.js';
import { freezesOf } from '../shell/freezes.js';
import { AnsweredElsewhere } from './AnsweredElsewhere.js';
import type { Answers } from './answers.js';
import { HoldCard } from './HoldCard.js';

/** The held queue; the shell polls it (every 2 s, and after each answer) and shares it with the nav. */
export function HeldView({ holds, answers }: { holds: Polled<{ holds: Hold[] }>; answers: Answers }) {
  const list = holds.data?.holds;
  // What is frozen now, so approving says what it will and will not do. Not read yet (or not
  // readable) is not "not frozen": the approve form then waits for it.
  const breakers = usePolled<Breakers>('/breakers', 2000);
  const open = breakers.data?.breakers;
  // The loop guard's step limit and action, to warn before approving the last step it allows.
  const loop = usePolled<PolicyView>('/policy', 10_000).data?.guards?.loop;
  const { gone, watch, dismiss } = answers;
  // Leaving Held closes its reason forms: a hold answered while away was not "answered while you wrote".
  useEffect(() => () => answers.forgetDrafts(), []);
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
            maxHops={loop?.maxHops}
            loopAction={loop?.action}
            onChanged={holds.refresh}
            watch={watch}
          />
        ))}
      </div>
    </section>
  );
}
