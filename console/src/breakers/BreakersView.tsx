import { useState } from 'preact/hooks';
import type { Breakers, PolicyView } from '../api/types.js';
import { usePolled } from '../api/use-polled.js';
import { Term } from '../glossary/Term.js';
import { ApiErrorNotice } from '../shell/ApiErrorNotice.js';
import { BreakerRules } from './BreakerRules.js';
import { BreakerTable } from './BreakerTable.js';
import { FreezeForm } from './FreezeForm.js';
import { FrozenList } from './FrozenList.js';

export function BreakersView() {
  const state = usePolled<Breakers>('/breakers', 2000);
  /** What the pilot's last unfreeze or reset did, in words (a freeze says so in its own form). */
  const [done, setDone] = useState<string>();
  // The policy can be reloaded: read it again now and then.
  const policy = usePolled<PolicyView>('/policy', 10_000);
  return (
    <section class="view" data-testid="breakers-view">
      <header class="view-header">
        <h2>Breakers &amp; frozen subjects</h2>
        <p class="hint">
          A <Term id="breaker">breaker</Term> opens when one of the rules below trips. While it is open the
          warden holds (<Term id="freeze">freezes</Term>) or refuses everything for what it names, such as a{' '}
          <Term id="subject">subject</Term>. Messages already held stay held: answer them in “Held”.
        </p>
      </header>
      <ApiErrorNotice error={state.error ?? policy.error} />
      {done !== undefined && (
        <p class="notice info" role="status" data-testid="breakers-done">
          {done}
        </p>
      )}
      <h3>This mesh's breakers</h3>
      <BreakerRules policy={policy.data} />
      <h3>Frozen subjects</h3>
      {state.data && (
        <FrozenList
          frozen={state.data.frozen}
          breakers={state.data.breakers}
          onChanged={state.refresh}
          said={setDone}
        />
      )}
      <h3>Open breakers</h3>
      {state.data && <BreakerTable breakers={state.data.breakers} onChanged={state.refresh} said={setDone} />}
      <h3>Freeze a subject</h3>
      <FreezeForm onChanged={state.refresh} />
    </section>
  );
}
