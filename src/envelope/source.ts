/** A parsed `source` attribute: `mesh://<mesh>/<name>[@<version>]`. */
export type SourceRef = { readonly mesh: string; readonly name: string; readonly version?: string };

const SOURCE = /^mesh:\/\/([A-Za-z0-9._-]+)\/([A-Za-z0-9._-]+)(?:@([A-Za-z0-9.+_-]+))?$/;

export function parseSource(source: string): SourceRef | undefined {
  const m = SOURCE.exec(source);
  if (!m) return undefined;
  return m[3] === undefined ? { mesh: m[1]!, name: m[2]! } : { mesh: m[1]!, name: m[2]!, version: m[3] };
}

export function formatSource(mesh: string, name: string, version?: string): string {
  return `mesh://${mesh}/${name}${version === undefined ? '' : `@${version}`}`;
}
