import { hash } from 'node:crypto';

/**
 * Short digest of one hop for the loop guard: (agent name, type, subject).
 * The agent's version is left out on purpose: a loop does not stop being a loop across a deploy.
 */
export function hopDigest(agent: string, type: string, subject: string): string {
  // Looked up by its three parts, not by a key made of them: the parts are strings the runtime
  // already holds (their hashes are cached in them), where a key would be a new string every time.
  let byType = recentHops.get(agent);
  let bySubject = byType?.get(type);
  let digest = bySubject?.get(subject);
  if (digest === undefined) {
    digest = hash('sha256', `${agent}\u0000${type}\u0000${subject}`, 'hex').slice(0, 12);
    if (recentCount >= RECENT_HOPS) {
      recentHops.clear();
      recentCount = 0;
      byType = undefined;
      bySubject = undefined;
    }
    if (byType === undefined) {
      byType = new Map();
      recentHops.set(agent, byType);
    }
    if (bySubject === undefined) {
      bySubject = new Map();
      byType.set(type, bySubject);
    }
    bySubject.set(subject, digest);
    recentCount++;
  }
  return digest;
}

/**
 * Every hop is digested twice (the gate's loop stage digests a message, and the envelopes its
 * handlers emit digest it again as their parent), and busy subjects repeat: recent digests are
 * remembered (by agent, then type, then subject), up to a bound, so outside input cannot grow them.
 */
const RECENT_HOPS = 8192;
const recentHops = new Map<string, Map<string, Map<string, string>>>();
let recentCount = 0;

export function parseAncestry(ancestry: string | undefined): readonly string[] {
  return ancestry === undefined || ancestry === '' ? [] : ancestry.split(' ');
}

/** The ancestry a child carries: the parent's ancestry plus the parent's own hop, keeping the last `max`. */
export function extendAncestry(parentAncestry: string | undefined, parentHop: string, max: number): string {
  // The common case, below the limit: one concatenation, no list. Splitting on spaces and joining
  // again gives back the same text, and `length - max < 1` is the slice below keeping everything.
  const length =
    parentAncestry === undefined || parentAncestry === '' ? 1 : countInAncestry(parentAncestry, ' ') + 2;
  if (length - max < 1) return length === 1 ? parentHop : `${parentAncestry} ${parentHop}`;
  const list = [...parseAncestry(parentAncestry), parentHop];
  return list.slice(Math.max(0, list.length - max)).join(' ');
}

/** How many times a hop digest already appears in an ancestry. */
export function countInAncestry(ancestry: string | undefined, digest: string): number {
  if (ancestry === undefined || ancestry === '') return 0;
  let count = 0;
  let from = 0;
  for (;;) {
    const at = ancestry.indexOf(digest, from);
    if (at < 0) return count;
    count++;
    from = at + digest.length;
  }
}
