import { useEffect, useState } from 'preact/hooks';

// Hash routes, so every view (and every message's lineage) has an address a pilot can share.
export type Route =
  | { view: 'mesh' }
  | { view: 'held' }
  | { view: 'breakers' }
  | { view: 'search'; q: string }
  | { view: 'message'; id: string }
  | { view: 'ledger' }
  | { view: 'live' }
  | { view: 'glossary'; term: string }
  | { view: 'notfound'; address: string };

export function parseRoute(hash: string): Route {
  const [path = '', query = ''] = hash.replace(/^#\/?/, '').split('?');
  const [view, ...rest] = path.split('/');
  switch (view) {
    case 'held':
    case 'breakers':
    case 'ledger':
    case 'live':
      return { view };
    case 'glossary':
      return { view, term: new URLSearchParams(query).get('term') ?? '' };
    case 'search':
      return { view, q: new URLSearchParams(query).get('q') ?? '' };
    case 'message':
      return { view, id: decodeURIComponent(rest.join('/')) };
    case '':
    case 'mesh':
      return { view: 'mesh' };
    default:
      // A mistyped or old address says so, rather than showing the overview under it.
      return { view: 'notfound', address: hash };
  }
}

export const href = {
  message: (id: string) => `#/message/${encodeURIComponent(id)}`,
  search: (q: string) => `#/search?${new URLSearchParams({ q })}`,
};

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
