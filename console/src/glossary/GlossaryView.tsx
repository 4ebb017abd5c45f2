import { useEffect } from 'preact/hooks';
import { TERMS } from './terms.js';

/** Every word the console uses, in plain language, with the code a log or the API would show. */
export function GlossaryView({ term }: { term: string }) {
  useEffect(() => {
    if (term !== '') document.getElementById(`term-${term}`)?.scrollIntoView({ block: 'center' });
  }, [term]);
  return (
    <section class="view" data-testid="glossary-view">
      <header class="view-header">
        <h2>Glossary</h2>
        <p class="hint">
          The words this console uses. Where the warden’s logs and API use a code for it, the code is shown in
          small type beside the word.
        </p>
      </header>
      <dl class="glossary">
        {TERMS.map((t) => (
          <div
            key={t.term}
            id={`term-${t.term}`}
            class={t.term === term ? 'selected' : ''}
            data-testid="glossary-term"
            data-term={t.term}
          >
            <dt>
              {t.word} {t.code !== undefined && <span class="code small">{t.code}</span>}
            </dt>
            <dd>{t.text}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}
