import type { Breakers } from '../api/types.js';
import { usePolled } from '../api/use-polled.js';
import { Term } from '../glossary/Term.js';
import { href } from '../shell/route.js';

/** What is frozen or open now, on the overview, so a pilot never has to look elsewhere to learn it. */
export function FrozenNow() {
  const state = usePolled<Breakers>('/breakers', 2000);
  if (state.data === undefined) return null;
  const { frozen, breakers } = state.data;
  const others = breakers.filter((b) => !frozen.includes(b.key));
  if (frozen.length === 0 && breakers.length === 0) {
    return (
      <p class="muted" data-testid="mesh-frozen" data-frozen="0" data-open="0">
        Nothing is frozen and no breaker is open.
      </p>
    );
  }
  return (
    <p
      class="notice warning"
      data-testid="mesh-frozen"
      data-frozen={frozen.length}
      data-open={breakers.length}
    >
      {frozen.length > 0 && (
        <>
          <Term id="freeze">Frozen</Term> now:{' '}
          {frozen.map((subject, i) => (
            <span key={subject}>
              {i > 0 && ', '}
              <a href={href.search(subject)}>{subject}</a>
            </span>
          ))}
          .{' '}
        </>
      )}
      {others.length > 0 &&
        (others.length === 1 ? 'One other breaker is open. ' : `${others.length} other breakers are open. `)}
      <a href="#/breakers" data-testid="mesh-frozen-link">
        See Breakers &amp; frozen
      </a>
    </p>
  );
}
