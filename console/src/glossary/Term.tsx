import type { ComponentChildren } from 'preact';
import { TERMS } from './terms.js';

const BY_TERM = new Map(TERMS.map((t) => [t.term, t]));

/** A word of the glossary in running text: its meaning on hover, the glossary entry on click. */
export function Term({ id, children }: { id: string; children: ComponentChildren }) {
  const term = BY_TERM.get(id);
  return (
    <a
      class="term"
      href={`#/glossary?term=${encodeURIComponent(id)}`}
      title={term?.text}
      data-testid="term-link"
      data-term={id}
    >
      {children}
    </a>
  );
}
