/** What a log, an error or an alert may show of a URL: its scheme, host and port (a path or query may hold a secret). */
export function hostOf(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return '(a URL)';
  }
}
