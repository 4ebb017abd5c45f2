import { isMeshwardenError } from '../../runtime/index.js';
import { type ApiClient, reportFailure } from '../api-client.js';
import { cliError, EXIT } from '../errors.js';
import { type Output, table } from '../output.js';
import { shortTime } from './approvals.js';

/** `GET /breakers` (docs/api.md). */
type Breakers = {
  breakers: {
    id: string;
    key: string;
    state: string;
    action: string;
    openedAt: string;
    closesAt?: string | null;
    by: string;
  }[];
  frozen: string[];
};

type Reset = { id: string; key: string; closed: boolean };

/** `breakers list`: the open breakers (the loop guard's and pilots' freezes among them) and frozen subjects. */
export async function listBreakers(api: ApiClient, out: Output): Promise<number> {
  const reply = await api.get<Breakers>('/breakers');
  if (isMeshwardenError(reply)) return reportFailure(reply, out);
  if (out.json) {
    out.document(reply);
    return EXIT.ok;
  }
  if (reply.breakers.length === 0 && reply.frozen.length === 0) {
    out.line(`No breaker is open and nothing is frozen at ${api.url}.`);
    return EXIT.ok;
  }
  if (reply.breakers.length > 0) {
    out.line(`${reply.breakers.length} open breaker(s) at ${api.url}:`);
    out.line(
      table([
        ['ID', 'KEY', 'ACTION', 'OPENED', 'CLOSES', 'BY'],
        ...reply.breakers.map((b) => [
          b.id,
          b.key,
          b.action,
          shortTime(b.openedAt),
          b.closesAt == null ? 'when a pilot resets it' : shortTime(b.closesAt),
          b.by,
        ]),
      ]),
    );
  }
  out.line(
    reply.frozen.length === 0
      ? 'Nothing is frozen.'
      : `Frozen (everything for them is held): ${reply.frozen.join(', ')}`,
  );
  out.line();
  out.line('meshwarden breakers reset <id> [key] --reason "…" closes one breaker;');
  out.line('meshwarden unfreeze <subject> --reason "…" closes every freeze on a subject.');
  return EXIT.ok;
}

/**
 * `breakers reset <id> [key]`: closes one open breaker. Without a key, the breaker must be open for
 * exactly one key; otherwise it is a usage error that lists the keys to choose from.
 */
export async function resetBreaker(
  api: ApiClient,
  id: string,
  key: string | undefined,
  reason: string,
  out: Output,
): Promise<number> {
  let target = key;
  if (target === undefined) {
    const open = await api.get<Breakers>('/breakers');
    if (isMeshwardenError(open)) return reportFailure(open, out);
    const keys = open.breakers.filter((b) => b.id === id).map((b) => b.key);
    if (keys.length !== 1) {
      const err =
        keys.length === 0
          ? cliError('MW_CLI_BREAKER_NOT_OPEN', {
              id,
              open: open.breakers.map((b) => `${b.id} ${b.key}`).join(', ') || 'none',
            })
          : cliError('MW_CLI_BREAKER_AMBIGUOUS', { id, count: keys.length, keys: keys.join(', ') });
      return reportFailure(err, out);
    }
    target = keys[0]!;
  }
  const reply = await api.post<Reset>(`/breakers/${encodeURIComponent(id)}/reset`, { key: target, reason });
  if (isMeshwardenError(reply)) return reportFailure(reply, out);
  if (out.json) {
    out.document(reply);
    return EXIT.ok;
  }
  out.line(`reset breaker ${reply.id} for ${reply.key}: closed, and its count cleared`);
  out.line('messages it held stay held: meshwarden approvals list shows them');
  return EXIT.ok;
}
