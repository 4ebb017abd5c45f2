import { useEffect, useState } from 'preact/hooks';

// Hash routes, so every view (and every message's lineage) has an address a pilot can share.
export type Route =
  | { view: 'mesh' }
  | { view: 'held' }
  | { view: 'breakers' }
  | { view: 'drift' }
  | { view: 'search'; q: string }
  | { view: 'message'; id: string }
  | { view: 'ledger'; partition: number; pages: number[] }
  | { view: 'live' }
  | { view: 'whatif' }
  | { view: 'glossary'; term: string }
  | { view: 'notfound'; address: string };

export function parseRoute(hash: string): Route {
  const [path = '', query = ''] = hash.replace(/^#\/?/, '').split('?');
  const [view, ...rest] = path.split('/');
  switch (view) {
    case 'held':
    case 'breakers':
    case 'drift':
    case 'live':
    case 'whatif':
      return { view };
    case 'ledger': {
      // The page a pilot reads is in the address, so Back returns to the newer page.
      const params = new URLSearchParams(query);
      const partition = Number(params.get('partition') ?? 0);
      const pages = (params.get('pages') ?? '')
        .split('.')
        .filter((p) => /^[1-9][0-9]*$/.test(p))
        .map(Number);
      return { view, partition: Number.isInteger(partition) && partition >= 0 ? partition : 0, pages };
    }
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
  /** A ledger page: `pages` are the cursors of the older pages opened, newest first. */
  ledger: (partition: number, pages: readonly number[]) => {
    const query = new URLSearchParams();
    if (partition !== 0) query.set('partition', String(partition));
    if (pages.length > 0) query.set('pages', pages.join('.'));
    const text = query.toString();
    return text === '' ? '#/ledger' : `#/ledger?${text}`;
  },
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
