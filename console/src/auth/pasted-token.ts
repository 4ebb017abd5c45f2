/**
 * The token in what was pasted: the token itself, the console address `up` printed (its
 * `#token=…`), or an `Authorization` value (`Bearer …`).
 */
export function tokenIn(pasted: string): string {
  const text = pasted.trim();
  const fromAddress = /#token=([^&\s]+)/.exec(text);
  if (fromAddress !== null) {
    try {
      return decodeURIComponent(fromAddress[1]!);
    } catch {
      return fromAddress[1]!; // a stray `%`: tried as it is, and the warden says it does not know it
    }
  }
  return text.replace(/^bearer\s+/i, '');
}
