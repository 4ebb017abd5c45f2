// The pilot's token lives in sessionStorage: it survives reloads, not the closing of the tab.
const KEY = 'meshwarden.token';

/**
 * Takes `#token=…` (as `meshwarden up` prints it) out of the address, so it is neither bookmarked
 * nor left in the history, and keeps it for this tab. Returns the stored token, if any.
 */
export function adoptTokenFromAddress(): string | null {
  const match = /^#token=([^&]+)/.exec(location.hash);
  if (match !== null) {
    saveToken(decodeURIComponent(match[1]!));
    history.replaceState(null, '', `${location.pathname}${location.search}#/mesh`);
  }
  return sessionStorage.getItem(KEY);
}

export function saveToken(token: string): void {
  sessionStorage.setItem(KEY, token);
}

export function forgetToken(): void {
  sessionStorage.removeItem(KEY);
}
