import { nextMajor } from '../contracts/index.js';
import type { GatedKind } from '../envelope/index.js';
import { policyMessage } from './errors.js';
import type { PolicyIssue } from './issues.js';
import { policyFileTextOrEmpty } from './policy-file.js';
import { parseMesh } from './source.js';
import type { Policy } from './types.js';

/** A held message or effect request: its type and whether it is an effect. */
export type HeldOne = { readonly type: string; readonly kind: GatedKind };

/**
 * One MW_POLICY_HELD_TYPE_REMOVED issue per type that has holds waiting for a pilot (`held`, in any
 * order) but is not in `next`: a message type no agent or ingress has any more, or an effect no
 * longer declared. Approved under `next`, such a hold would find no consumer or executor (and be
 * dead-lettered). Each is at the mesh file's `effects` (or `agents`) key, where the type would be
 * declared, with the count and the remedy: answer the holds first, or keep the type beside its
 * new version. Reads the mesh file again to place them.
 */
export async function heldTypeIssues(next: Policy, held: Iterable<HeldOne>): Promise<PolicyIssue[]> {
  const waiting = new Map<string, { kind: GatedKind; count: number }>();
  for (const h of held) {
    const known = h.kind === 'effect' ? next.effects.has(h.type) : next.contracts.has(h.type);
    if (known) continue;
    const tally = waiting.get(h.type) ?? { kind: h.kind, count: 0 };
    tally.count++;
    waiting.set(h.type, tally);
  }
  if (waiting.size === 0) return [];
  const text = await policyFileTextOrEmpty(next.file);
  const mesh = parseMesh({ file: next.file, path: next.file, text });
  return [...waiting]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([type, { kind, count }]) => {
      const key = kind === 'effect' ? 'effects' : 'agents';
      const { line, col } = mesh.locate([key], 'key');
      const newer = nextMajor(type);
      const params = {
        kind: kind === 'effect' ? 'effect' : 'message type',
        type,
        count,
        holds: count === 1 ? 'hold of it waits' : 'holds of it wait',
        them: count === 1 ? 'it' : 'them',
        target: kind === 'effect' ? 'no executor' : 'no consumer',
        beside: next.contracts.has(newer) ? ` beside ${newer}` : '',
      };
      const message = policyMessage('MW_POLICY_HELD_TYPE_REMOVED', params);
      return { code: 'MW_POLICY_HELD_TYPE_REMOVED', file: next.file, line, col, pointer: `/${key}`, message };
    });
}
