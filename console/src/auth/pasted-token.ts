/**
 * The token in what was pasted: the token itself, the console address `up` printed (its
 * `#token=…`), or an `Authorization` value (`Bearer …`).
 */
export function tokenIn(pasted: string): string {
  const text = pasted.trim();
  const fromAddress = /#token=([^&\s]+)/.exec(text);
  if (fromAddress !== null) return decodedOrAsIs(fromAddress[1]!);
  return text.replace(/^bearer\s+/i, '');
}

/** A percent-encoded token, decoded; one that does not decode (a stray `%`) as it is: the warden then refuses it. */
export function decodedOrAsIs(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
