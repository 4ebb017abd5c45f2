import { isMeshwardenError } from '../../runtime/index.js';
import { type ApiClient, reportFailure } from '../api-client.js';
import { EXIT } from '../errors.js';
import type { Output } from '../output.js';

type Frozen = { subject: string; frozen: boolean; closed?: string[] };

/** `freeze <subject>`: opens the pilot breaker on a subject; everything for it is held from now on. */
export async function freeze(api: ApiClient, subject: string, reason: string, out: Output): Promise<number> {
  const reply = await api.post<Frozen>('/freeze', { subject, reason });
  if (isMeshwardenError(reply)) return reportFailure(reply, out);
  // The console asks before freezing a subject nothing was ever about (a typo freezes nothing real);
  // a command is not asked twice, so it says so after.
  if (!(await heardOf(api, reply.subject)))
    out.note(
      `no message in the ledger is about ${reply.subject} yet: if that is a typo, meshwarden unfreeze ${reply.subject} --reason "…" undoes it`,
    );
  if (out.json) {
    out.document(reply);
    return EXIT.ok;
  }
  out.line(`froze ${reply.subject}: every message and effect for it is held until a pilot unfreezes it`);
  out.line(`meshwarden unfreeze ${reply.subject} --reason "…" releases it`);
  return EXIT.ok;
}

/** Whether the ledger has any message about `subject`; a failed look says nothing (true). */
async function heardOf(api: ApiClient, subject: string): Promise<boolean> {
  const found = await api.get<{ kind: string; results: unknown[] }>(
    `/search?q=${encodeURIComponent(subject)}`,
  );
  return isMeshwardenError(found) || found.kind !== 'subject' || found.results.length > 0;
}

/** `unfreeze <subject>`: closes every freeze on a subject (loop guard, pilot, freezing breakers). */
export async function unfreeze(
  api: ApiClient,
  subject: string,
  reason: string,
  out: Output,
): Promise<number> {
  const reply = await api.post<Frozen>('/unfreeze', { subject, reason });
  if (isMeshwardenError(reply)) return reportFailure(reply, out);
  if (out.json) {
    out.document(reply);
    return EXIT.ok;
  }
  const closed = reply.closed ?? [];
  out.line(
    `unfroze ${reply.subject}${closed.length === 0 ? '' : `: closed ${closed.join(', ')}`}; new messages for it pass the gate again`,
  );
  out.line('messages held while it was frozen stay held: meshwarden approvals list shows them');
  return EXIT.ok;
}
