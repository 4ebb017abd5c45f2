/**
 * The names the JetStream bus gives a mesh's parts on the broker. A mesh name may hold characters a
 * subject token or a stream name may not (`.`, `*`, `>`, spaces): each is written as its code point
 * in hex between two `_` (`a.b` → `a_2e_b`), and `_` itself as `_5f_`, so the name reads back
 * unambiguously and two mesh names never share a stream.
 */
export function meshToken(mesh: string): string {
  let token = '';
  for (const char of mesh) {
    token += /^[A-Za-z0-9-]$/.test(char) ? char : `_${char.codePointAt(0)!.toString(16)}_`;
  }
  return token;
}

/** The mesh's one stream, `MW_<mesh>`. */
export function streamNameOf(mesh: string): string {
  return `MW_${meshToken(mesh)}`;
}

/** The subject of a partition's items, `mw.<mesh>.p.<partition>`. */
export function partitionSubject(mesh: string, partition: number): string {
  return `mw.${meshToken(mesh)}.p.${partition}`;
}

/** Every partition's subject: what the stream listens to. */
export function meshSubjects(mesh: string): string {
  return `mw.${meshToken(mesh)}.p.*`;
}

/** The durable pull consumer of a partition: one per partition, bound by whoever owns it. */
export function consumerNameOf(partition: number): string {
  return `p${partition}`;
}
