import { isMeshwardenError, parseSource } from '../../runtime/index.js';
import { type ApiClient, reportFailure } from '../api-client.js';
import { EXIT } from '../errors.js';
import { inlineText, type Output, table } from '../output.js';

/** One element of `GET /holds` (docs/api.md). */
type Hold = {
  id: string;
  type: string;
  subject: string;
  source?: string;
  gated?: 'message' | 'effect';
  stage: string;
  rule?: string | null;
  reason: string;
  detail?: string;
  heldAt: string;
  timeoutAt?: string | null;
  onTimeout?: string | null;
  data?: unknown;
};

type Released = { id: string; outcome: 'deliver' | 'deny'; by: string };

const DATA_WIDTH = 40;

/** `approvals list`: what waits for a pilot, why it is held and until when. */
export async function listApprovals(api: ApiClient, out: Output): Promise<number> {
  const reply = await api.get<{ holds: Hold[] }>('/holds');
  if (isMeshwardenError(reply)) return reportFailure(reply, out);
  if (out.json) {
    out.document(reply);
    return EXIT.ok;
  }
  const holds = reply.holds;
  if (holds.length === 0) {
    out.line('Nothing is held: no message waits for a pilot.');
    return EXIT.ok;
  }
  const now = Date.now();
  // What holds them now: a hold's sentence was true when it was held, and a freeze may be gone since.
  const open = await api.get<{ breakers: OpenBreaker[] }>('/breakers');
  const breakers = isMeshwardenError(open) ? undefined : open.breakers;
  out.line(`${holds.length} held message(s) at ${api.url}:`);
  out.line(
    table([
      ['ID', 'TYPE', 'SUBJECT', 'HELD BY', 'REASON', 'HELD SINCE', 'TIMES OUT', 'DATA'],
      ...holds.map((h) => [
        h.id,
        `${h.gated === 'effect' ? 'effect ' : ''}${h.type}`,
        h.subject,
        `${h.stage}${h.rule == null ? '' : `/${h.rule}`}`,
        h.reason,
        shortTime(h.heldAt),
        h.timeoutAt == null
          ? 'waits for a pilot'
          : `in ${span(Date.parse(h.timeoutAt) - now)}, then ${h.onTimeout === 'deliver' ? 'delivered' : 'denied'}`,
        compact(h.data),
      ]),
    ]),
  );
  out.line();
  for (const h of holds) {
    const gone = freezeGone(h, breakers) ? ' That freeze is gone now; it still waits for a pilot.' : '';
    if (h.detail) out.line(inlineText(`${h.id}: ${h.detail}${gone}`));
  }
  out.line();
  out.line('Release one with: meshwarden approvals approve|reject <id> --reason "…"');
  return EXIT.ok;
}

type OpenBreaker = { id: string; key: string; action?: string };

/**
 * Whether the freeze that held `h` (a freezing breaker's trip or freeze, the loop guard, a pilot) is
 * open no more: no freezing breaker of its rule is open on what it holds, its subject, its sender, a
 * path from its sender, or the whole mesh (`*`), as GET /breakers keys them. False when the breakers
 * are not known, and for a hold by anything else (an approval rule). The same test as the console's
 * Held view (console/src/shell/freezes.ts), which words its cards by it.
 */
function freezeGone(h: Hold, open: readonly OpenBreaker[] | undefined): boolean {
  const byFreeze = h.reason === 'breaker.frozen' || h.reason === 'breaker.tripped' || h.stage === 'loop';
  if (!byFreeze || open === undefined) return false;
  // The sender's name as the gate keys it: `discount` for `mesh://retention/discount@1.1.0`.
  const sender = parseSource(h.source ?? '')?.name ?? h.source ?? '';
  return !open.some(
    (b) =>
      b.action === 'freeze' &&
      b.id === h.rule &&
      (b.key === h.subject ||
        b.key === '*' ||
        (sender !== '' && (b.key === sender || b.key.startsWith(`${sender}->`)))),
  );
}

/**
 * The hold's step and the loop guard's limit when it is at or past the limit (so that what it leads
 * to is held and its subject frozen again), as the console warns; undefined otherwise or unknown.
 */
async function lastStepAllowed(api: ApiClient, id: string): Promise<StepAtLimit | undefined> {
  const [held, policy] = await Promise.all([
    api.get<{ holds: (Hold & { hop?: number })[] }>('/holds'),
    api.get<{ guards?: { loop?: { maxHops?: number; action?: string } } }>('/policy'),
  ]);
  if (isMeshwardenError(held) || isMeshwardenError(policy)) return undefined;
  const hold = held.holds.find((h) => h.id === id);
  const maxHops = policy.guards?.loop?.maxHops;
  if (hold?.hop === undefined || maxHops === undefined || hold.hop < maxHops) return undefined;
  return { hop: hold.hop, maxHops, subject: hold.subject, deny: policy.guards?.loop?.action === 'deny' };
}

export type StepAtLimit = { hop: number; maxHops: number; subject: string; deny: boolean };

/** The step against the limit, and what the loop guard does with the next one (the console's words). */
export function stepLimitWords(s: StepAtLimit): string {
  const where =
    s.hop === s.maxHops
      ? `step ${s.hop} of its case, the last its step limit (${s.maxHops}) allows`
      : `step ${s.hop} of its case, past its step limit (${s.maxHops})`;
  const next = s.deny
    ? 'refused by the loop guard, which ends the case there'
    : `held by the loop guard, which freezes ${s.subject} again, even if it was unfrozen`;
  return `${where}: whatever comes next is ${next}`;
}

/** `approvals approve|reject <id>`: releases a held message; the server records the pilot and reason. */
export async function releaseHold(
  api: ApiClient,
  action: 'approve' | 'reject',
  id: string,
  reason: string,
  out: Output,
): Promise<number> {
  // Read before it is answered (it leaves the queue then): a step at the loop guard's limit is said.
  const atLimit = action === 'approve' ? await lastStepAllowed(api, id) : undefined;
  const reply = await api.post<Released>(`/holds/${encodeURIComponent(id)}/${action}`, { reason });
  if (!isMeshwardenError(reply) && reply.outcome === 'deliver' && atLimit !== undefined)
    out.note(`${id} was ${stepLimitWords(atLimit)}`);
  if (isMeshwardenError(reply)) {
    const code = reportFailure(reply, out);
    const answered = answeredText(reply.details?.answered);
    if (answered !== undefined) out.note(answered);
    return code;
  }
  if (out.json) {
    out.document(reply);
    return EXIT.ok;
  }
  const what =
    reply.outcome === 'deliver' ? 'it goes on (delivered, or its effect executed)' : 'it is dropped';
  out.line(`${action === 'approve' ? 'approved' : 'rejected'} ${reply.id}: ${what}`);
  out.line(
    `recorded in the ledger as ${reply.by} with your reason; meshwarden why ${reply.id} ${api.reach} shows it`,
  );
  return EXIT.ok;
}

/** An ISO time to the second, as `2026-05-04 09:12:00Z`. */
export function shortTime(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** A duration in its two largest units: `3h 59m`, `42s`. */
function span(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  return h < 48 ? `${h}h ${m % 60}m` : `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** The payload on one short line: what a pilot checks before approving (the amount, the text). */
function compact(data: unknown): string {
  const text = data === undefined ? '' : JSON.stringify(data);
  return text.length <= DATA_WIDTH ? text : `${text.slice(0, DATA_WIDTH - 1)}…`;
}

/** Who answered a hold first, as the server says (`error.answered`): one line for the pilot who came second. */
function answeredText(answered: unknown): string | undefined {
  const a = answered as { by?: unknown; outcome?: unknown; at?: unknown; refused?: unknown } | undefined;
  if (typeof a?.by !== 'string' || typeof a.at !== 'string') return undefined;
  const how =
    typeof a.refused === 'string'
      ? `let through, then refused by the gate (${a.refused})`
      : a.outcome === 'deliver'
        ? 'let through'
        : 'dropped';
  return `already answered: ${how} by ${inlineText(a.by)} at ${shortTime(a.at)}`;
}
