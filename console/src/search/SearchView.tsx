import { useState } from 'preact/hooks';
import type { Breakers, SearchResult } from '../api/types.js';
import { usePolled } from '../api/use-polled.js';
import { Term } from '../glossary/Term.js';
import { ApiErrorNotice } from '../shell/ApiErrorNotice.js';
import { href } from '../shell/route.js';
import { frozenByWords } from '../shell/words.js';
import { ResultsTable } from './ResultsTable.js';

const KIND_WORDS = { message: 'message', subject: 'subject', agent: 'agent version' } as const;

/** Finds messages by id, subject (`account:8841`) or agent version (`churn@2.0.1`). */
export function SearchView({ q }: { q: string }) {
  // The shell remounts this view when `q` changes (key), so the field starts from the address.
  const [text, setText] = useState(q);
  const result = usePolled<SearchResult>(q === '' ? null : `/search?${new URLSearchParams({ q })}`, 0);
  const data = result.data;
  // What is frozen now, so a held result's sentence says whether its freeze still stands.
  const breakers = usePolled<Breakers>(q === '' ? null : '/breakers', 2000);
  // A subject searched for that is frozen now says so, whatever its messages said when decided.
  const frozenBy = (breakers.data?.breakers ?? [])
    .filter((b) => b.action === 'freeze' && b.key === data?.q)
    .map((b) => frozenByWords(b.id, b.by));
  return (
    <section class="view" data-testid="search-view">
      <header class="view-header">
        <h2>Search &amp; lineage</h2>
        <p class="hint">
          Type a message id, a <Term id="subject">subject</Term> such as <code>account:8841</code>, or an
          agent version such as <code>discount@1.1.0</code>. Click a message to see its{' '}
          <Term id="lineage">lineage</Term>: why it happened and what followed.
        </p>
      </header>
      <form
        class="search-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (text.trim() !== '') location.hash = href.search(text.trim());
        }}
      >
        <input
          type="search"
          value={text}
          placeholder="account:8841"
          aria-label="Search"
          onInput={(e) => setText(e.currentTarget.value)}
          data-testid="search-input"
        />
        <button type="submit" class="primary" data-testid="search-button">
          Search
        </button>
      </form>
      <ApiErrorNotice error={result.error} />
      {data && (
        <>
          <p class="muted" data-testid="search-summary" data-results={data.results.length}>
            {data.results.length === 0
              ? 'Nothing found.'
              : `${data.results.length} ${data.results.length === 1 ? 'result' : 'results'} for the ${KIND_WORDS[data.kind] ?? data.kind} ${data.q}, newest first.`}
          </p>
          {data.kind === 'subject' && frozenBy.length > 0 && (
            <p class="notice warning" data-testid="search-frozen" data-subject={data.q}>
              {data.q} is frozen now, by {frozenBy.join(' and ')}: everything about it is held for a pilot (
              <a href="#/breakers">Breakers &amp; frozen</a>).
            </p>
          )}
          {data.results.length === 0 && frozenBy.length === 0 && (
            <p class="hint" data-testid="search-hint">
              {searchHint(data.q, data.kind)}
            </p>
          )}
          {data.results.length > 0 && <ResultsTable results={data.results} open={breakers.data?.breakers} />}
        </>
      )}
    </section>
  );
}

/** What to try after nothing was found for `q`, searched as `kind`. */
function searchHint(q: string, kind: string): string {
  if (kind === 'agent')
    return 'An agent is searched by its name and exact version, as the Mesh page names it (discount@1.1.0).';
  if (/^\d+$/.test(q)) return `Subjects have a kind before the id, as in account:${q}.`;
  if (q !== q.toLowerCase() && q.includes(':'))
    return `Subjects match exactly, upper and lower case as written: try ${q.toLowerCase()}.`;
  if (/^(?=.*\d)[0-9a-f-]{4,35}$/i.test(q))
    return 'A message is searched by its whole id (36 characters, as a lineage shows it), not a part of it.';
  if (!q.includes(':'))
    return `Nothing was about “${q}”. Subjects have a kind and an id (account:1234); an agent's messages are found by name@version (discount@1.1.0).`;
  return `No message was about ${q}: check its spelling, kind and id.`;
}
