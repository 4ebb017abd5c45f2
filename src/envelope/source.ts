/** A parsed `source` attribute: `mesh://<mesh>/<name>[@<version>]`. */
export type SourceRef = { readonly mesh: string; readonly name: string; readonly version?: string };

const SOURCE = /^mesh:\/\/([A-Za-z0-9._-]+)\/([A-Za-z0-9._-]+)(?:@([A-Za-z0-9.+_-]+))?$/;

/** How many distinct sources are remembered before the memo starts over. */
const REMEMBERED = 4096;
/**
 * Parsed sources: a mesh has few (one per agent version and ingress), and the gate, the runtime and
 * the records parse them several times a hop. Bounded, so outside input cannot grow it.
 */
const parsed = new Map<string, SourceRef | undefined>();

/** The parts of a source, or undefined when it is not `mesh://…`; the result is frozen (shared). */
export function parseSource(source: string): SourceRef | undefined {
  let ref = parsed.get(source);
  if (ref !== undefined || parsed.has(source)) return ref;
  ref = parseFresh(source);
  if (parsed.size >= REMEMBERED) parsed.clear();
  parsed.set(source, ref);
  return ref;
}

function parseFresh(source: string): SourceRef | undefined {
  const m = SOURCE.exec(source);
  if (!m) return undefined;
  return Object.freeze(
    m[3] === undefined ? { mesh: m[1]!, name: m[2]! } : { mesh: m[1]!, name: m[2]!, version: m[3] },
  );
}

export function formatSource(mesh: string, name: string, version?: string): string {
  return `mesh://${mesh}/${name}${version === undefined ? '' : `@${version}`}`;
}
