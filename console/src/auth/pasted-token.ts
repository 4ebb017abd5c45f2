/**
 * The token in what was pasted: the token itself, the console address `up` printed (its
 * `#token=…`), or an `Authorization` value (`Bearer …`).
 */
export function tokenIn(pasted: string): string {
  const text = pasted.trim();
  const fromAddress = /#token=([^&\s]+)/.exec(text);
  if (fromAddress !== null) return decodeURIComponent(fromAddress[1]!);
  return text.replace(/^bearer\s+/i, '');
}
