import { isMeshwardenError } from '../../runtime/index.js';
import { type ApiClient, reportFailure } from '../api-client.js';
import { EXIT } from '../errors.js';
import type { Output } from '../output.js';

type Frozen = { subject: string; frozen: boolean; closed?: string[] };

/** `freeze <subject>`: opens the pilot breaker on a subject; everything for it is held from now on. */
export async function freeze(api: ApiClient, subject: string, reason: string, out: Output): Promise<number> {
  const reply = await api.post<Frozen>('/freeze', { subject, reason });
  if (isMeshwardenError(reply)) return reportFailure(reply, out);
  if (out.json) {
    out.document(reply);
    return EXIT.ok;
  }
  out.line(`froze ${reply.subject}: every message and effect for it is held until a pilot unfreezes it`);
  out.line(`meshwarden unfreeze ${reply.subject} --reason "…" releases it`);
  return EXIT.ok;
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
