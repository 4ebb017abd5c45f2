import { useMemo, useState } from 'preact/hooks';
import { createApiClient } from '../api/client.js';
import { ApiContext } from '../api/context.js';
import { SignIn } from '../auth/SignIn.js';
import { adoptTokenFromAddress, forgetToken, saveToken } from '../auth/token.js';
import { BreakersView } from '../breakers/BreakersView.js';
import { HeldView } from '../held/HeldView.js';
import { LedgerView } from '../ledger/LedgerView.js';
import { LineageView } from '../lineage/LineageView.js';
import { LiveView } from '../live/LiveView.js';
import { MeshView } from '../mesh/MeshView.js';
import { SearchView } from '../search/SearchView.js';
import { Nav } from './Nav.js';
import { type Route, useRoute } from './route.js';

export function App() {
  const [token, setToken] = useState(adoptTokenFromAddress);
  const [notice, setNotice] = useState<string | null>(null);
  const route = useRoute();

  const api = useMemo(
    () =>
      token === null
        ? null
        : createApiClient(token, () => {
            forgetToken();
            setToken(null);
            setNotice(
              'The warden did not accept this token (it may have been revoked). Please sign in again.',
            );
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
      <Nav
        route={route}
        onSignOut={() => {
          forgetToken();
          setNotice('Signed out.');
          setToken(null);
        }}
      />
      <main class="content">
        <CurrentView route={route} />
      </main>
    </ApiContext.Provider>
  );
}

function CurrentView({ route }: { route: Route }) {
  switch (route.view) {
    case 'mesh':
      return <MeshView />;
    case 'held':
      return <HeldView />;
    case 'breakers':
      return <BreakersView />;
    case 'search':
      return <SearchView q={route.q} />;
    case 'message':
      return <LineageView key={route.id} id={route.id} />;
    case 'ledger':
      return <LedgerView />;
    case 'live':
      return <LiveView />;
  }
}
