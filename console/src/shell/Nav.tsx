import type { Session } from '../api/context.js';
import type { Route } from './route.js';

const LINKS: { view: Route['view']; label: string; hash: string }[] = [
  { view: 'mesh', label: 'Mesh', hash: '#/mesh' },
  { view: 'held', label: 'Held', hash: '#/held' },
  { view: 'breakers', label: 'Breakers & frozen', hash: '#/breakers' },
  { view: 'drift', label: 'Drift', hash: '#/drift' },
  { view: 'search', label: 'Search & lineage', hash: '#/search' },
  { view: 'ledger', label: 'Ledger', hash: '#/ledger' },
  { view: 'live', label: 'Live feed', hash: '#/live' },
  { view: 'whatif', label: 'What if', hash: '#/whatif' },
  { view: 'glossary', label: 'Glossary', hash: '#/glossary' },
];

/** The top bar; "Held" shows how many items wait, so a pilot sees work from any view. */
export function Nav({
  route,
  waiting,
  session,
  onSignOut,
}: {
  route: Route;
  waiting: number;
  session: Session | undefined;
  onSignOut: () => void;
}) {
  const current = route.view === 'message' ? 'search' : route.view;
  return (
    <nav class="top-nav" aria-label="Views">
      <a class="brand" href="#/mesh" data-testid="brand" title="Overview">
        Meshwarden
      </a>
      {LINKS.map((link) => (
        <a
          key={link.view}
          href={link.hash}
          class={`${current === link.view ? 'active' : ''} ${link.view === 'glossary' ? 'glossary-link' : ''}`}
          aria-current={current === link.view ? 'page' : undefined}
          data-testid={`nav-${link.view}`}
        >
          {link.label}
          {link.view === 'held' && waiting > 0 && (
            <span class="badge" data-testid="held-count">
              {waiting}
            </span>
          )}
        </a>
      ))}
      {session !== undefined && (
        <span class="session" data-testid="session" data-name={session.name} data-role={session.role}>
          {session.name} · {session.role}
        </span>
      )}
      <button type="button" class="sign-out" onClick={onSignOut} data-testid="sign-out">
        Sign out
      </button>
    </nav>
  );
}
