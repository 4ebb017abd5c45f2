import { useEffect, useMemo, useState } from 'preact/hooks';
import { createApiClient } from '../api/client.js';
import { ApiContext, type Session, SessionContext } from '../api/context.js';
import type { Hold } from '../api/types.js';
import { type Polled, usePolled } from '../api/use-polled.js';
import { type Notice, SignIn } from '../auth/SignIn.js';
import { adoptTokenFromAddress, forgetToken, saveToken, takeTokenFromAddress } from '../auth/token.js';
import { BreakersView } from '../breakers/BreakersView.js';
import { DriftView } from '../drift/DriftView.js';
import { GlossaryView } from '../glossary/GlossaryView.js';
import { type Answers, useAnswers } from '../held/answers.js';
import { HeldView } from '../held/HeldView.js';
import { LedgerView } from '../ledger/LedgerView.js';
import { LineageView } from '../lineage/LineageView.js';
import { LiveView } from '../live/LiveView.js';
import { MeshView } from '../mesh/MeshView.js';
import { SearchView } from '../search/SearchView.js';
import { WhatIfView } from '../whatif/WhatIfView.js';
import { AlertBanners } from './AlertBanners.js';
import { Nav } from './Nav.js';
import { type Route, useRoute } from './route.js';

export function App() {
  const [token, setToken] = useState(adoptTokenFromAddress);
  const [notice, setNotice] = useState<Notice | null>(null);
  const route = useRoute();
  // A `#token=…` address pasted into this tab later signs in with it (the address then shows the
  // overview, told to the router as a hash change: replacing the address does not fire one).
  useEffect(() => {
    const onHash = () => {
      const taken = takeTokenFromAddress();
      if (taken === null) return;
      setNotice(null);
      setToken(taken);
      dispatchEvent(new HashChangeEvent('hashchange'));
    };
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);

  const api = useMemo(
    () =>
      token === null
        ? null
        : createApiClient(token, () => {
            forgetToken();
            setToken(null);
            setNotice({
              text: 'The warden does not know this token: check that it was copied whole, or it may have been revoked. Please sign in again.',
              tone: 'error',
            });
          }),
    [token],
  );

  if (api === null) {
    return (
      <SignIn
        notice={notice}
        onToken={(t) => {
          saveToken(t);
          setNotice(null);
          setToken(t);
        }}
      />
    );
  }
  return (
    <ApiContext.Provider value={api}>
      {/* Keyed by the token: another identity starts with none of the last one's state. */}
      <SignedIn
        key={token}
        route={route}
        onSignOut={() => {
          forgetToken();
          setNotice({ text: 'Signed out.', tone: 'info' });
          setToken(null);
        }}
      />
    </ApiContext.Provider>
  );
}

function SignedIn({ route, onSignOut }: { route: Route; onSignOut: () => void }) {
  // One poll of the held queue feeds both the nav's count and the Held view, so they never disagree.
  const holds = usePolled<{ holds: Hold[] }>('/holds', 2000);
  // Kept here, not in Held: answers said there outlive a visit to another view.
  const answers = useAnswers(holds.data);
  // Who this token is: shown in the nav, and a viewer is offered nothing the warden would refuse.
  const session = usePolled<Session>('/session', 0).data;
  return (
    <SessionContext.Provider value={session}>
      <Nav route={route} waiting={holds.data?.holds.length ?? 0} session={session} onSignOut={onSignOut} />
      <main class="content">
        <AlertBanners />
        <CurrentView route={route} holds={holds} answers={answers} />
      </main>
    </SessionContext.Provider>
  );
}

function CurrentView({
  route,
  holds,
  answers,
}: {
  route: Route;
  holds: Polled<{ holds: Hold[] }>;
  answers: Answers;
}) {
  switch (route.view) {
    case 'mesh':
      return <MeshView holds={holds} />;
    case 'held':
      return <HeldView holds={holds} answers={answers} />;
    case 'breakers':
      return <BreakersView />;
    case 'drift':
      return <DriftView />;
    case 'search':
      return <SearchView key={route.q} q={route.q} />;
    case 'message':
      return <LineageView key={route.id} id={route.id} />;
    case 'ledger':
      return <LedgerView partition={route.partition} pages={route.pages} />;
    case 'live':
      return <LiveView />;
    case 'whatif':
      return <WhatIfView />;
    case 'glossary':
      return <GlossaryView term={route.term} />;
    case 'notfound':
      return (
        <section class="view" data-testid="notfound-view">
          <h2>No such page</h2>
          <p>
            The console has no page at <code>{route.address}</code>.{' '}
            <a href="#/mesh" data-testid="notfound-home">
              Go to the overview
            </a>
            .
          </p>
        </section>
      );
  }
}
