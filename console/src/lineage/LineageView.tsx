import { useMemo } from 'preact/hooks';
import type { Breakers, Impact, Why } from '../api/types.js';
import { usePolled } from '../api/use-polled.js';
import { Term } from '../glossary/Term.js';
import { ApiErrorNotice } from '../shell/ApiErrorNotice.js';
import { detailWords } from '../shell/detail-words.js';
import { CurrentVerdict } from '../shell/Outcomes.js';
import { href } from '../shell/route.js';
import { verdictTense } from '../shell/verdict-tense.js';
import { ChainTable } from './ChainTable.js';
import { LineageGraph } from './LineageGraph.js';
import { lineageGraph } from './lineage-graph.js';
import { MessageData } from './MessageData.js';
import { PilotActions } from './PilotActions.js';

/** Why one message happened (its causes, root first) and what it caused: its blast radius. */
export function LineageView({ id }: { id: string }) {
  const encoded = encodeURIComponent(id);
  // Polled slowly: a held message may be released, and its consequences appear, while a pilot looks.
  const why = usePolled<Why>(`/messages/${encoded}/why`, 5000);
  const impact = usePolled<Impact>(`/messages/${encoded}/impact`, 5000);
  // What is frozen now: a held message's sentence says whether its freeze still stands.
  const breakers = usePolled<Breakers>('/breakers', 2000);
  const open = breakers.data?.breakers;
  const lineage = useMemo(
    () =>
      why.data && impact.data
        ? lineageGraph(why.data.chain, impact.data.roots, impact.data.impact)
        : undefined,
    [why.data, impact.data],
  );
  const self = why.data?.chain.find((l) => l.id === id) ?? why.data?.chain.at(-1);

  return (
    <section class="view" data-testid="lineage-view" data-message-id={id}>
      <header class="view-header">
        <h2>
          Lineage{' '}
          {self && (
            <>
              of <span class="muted">{self.type}</span> for{' '}
              <a href={href.search(self.subject)}>{self.subject}</a> <CurrentVerdict link={self} />
            </>
          )}
        </h2>
        <p class="hint">
          Message <code data-testid="lineage-id">{id}</code>. Arrows point from a message to what it caused,
          step by step through its <Term id="case">case</Term>; a dashed arrow is a side effect of the mesh
          coming back in (an <Term id="echo">echo</Term>). Click any box to follow it.
        </p>
        {self && (
          <p class="detail" data-testid="lineage-detail">
            {detailWords(self.detail, verdictTense(self, open))}
          </p>
        )}
      </header>
      <ApiErrorNotice error={why.error ?? impact.error} />
      {lineage === undefined && why.error === undefined && <p class="muted">Loading the lineage…</p>}
      {lineage && (
        <>
          <div class="graph-frame">
            <LineageGraph lineage={lineage} selected={id} />
          </div>
          {lineage.truncated > 0 && (
            <p class="muted">{lineage.truncated} more messages are listed below but not drawn.</p>
          )}
        </>
      )}
      {why.data && (
        <>
          <h3>Its data</h3>
          <MessageData data={self?.data} />
          <h3>How it came to be (root first)</h3>
          <ChainTable links={why.data.chain} selected={id} testid="why-chain" open={open} />
          <h3>Pilot actions</h3>
          <PilotActions actions={why.data.actions} />
        </>
      )}
      {impact.data && (
        <>
          <h3>What followed</h3>
          {impact.data.impact.length === 0 ? (
            <p class="muted">Nothing followed from this message.</p>
          ) : (
            <ChainTable links={impact.data.impact} selected={id} testid="impact-chain" open={open} />
          )}
        </>
      )}
    </section>
  );
}
