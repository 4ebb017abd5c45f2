// The pilot's token lives in sessionStorage: it survives reloads, not the closing of the tab.
import { decodedOrAsIs } from './pasted-token.js';

const KEY = 'meshwarden.token';

/**
 * Takes `#token=…` (as `meshwarden up` prints it) out of the address, so it is neither bookmarked
 * nor left in the history, and keeps it for this tab. Returns the stored token, if any.
 */
export function adoptTokenFromAddress(): string | null {
  takeTokenFromAddress();
  return sessionStorage.getItem(KEY);
}

/**
 * The token a `#token=…` address brings, now kept for this tab and taken out of the address (which
 * then shows the overview); null when the address brings none. Also for an address pasted into a
 * tab that is already open, on a sign-in page or signed in with another token.
 */
export function takeTokenFromAddress(): string | null {
  const match = /^#token=([^&]+)/.exec(location.hash);
  if (match === null) return null;
  // Out of the address first, whatever follows: a token never stays in the bar or the history.
  history.replaceState(null, '', `${location.pathname}${location.search}#/mesh`);
  const token = decodedOrAsIs(match[1]!);
  saveToken(token);
  return token;
}

export function saveToken(token: string): void {
  sessionStorage.setItem(KEY, token);
}

export function forgetToken(): void {
  sessionStorage.removeItem(KEY);
}
