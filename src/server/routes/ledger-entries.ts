import type { FastifyInstance } from 'fastify';
import { ENTRY, type LedgerEntry } from '../../runtime/index.js';
import type { ApiDeps } from '../deps.js';
import { apiError } from '../errors.js';
import { errors } from '../schemas.js';

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 200;
// Query values arrive as text (no type coercion): whole numbers are checked by pattern, then read.
const whole = { type: 'string', pattern: '^(0|[1-9][0-9]{0,14})$' } as const;

type Query = { partition?: string; before?: string; limit?: string };

/**
 * One ledger entry as a list shows it: where it sits in its chain, what it is about, its hash. The
 * console mirrors it as `LedgerEntryView` (console/src/api/types.ts): change both.
 */
export type EntryView = {
  partition: number;
  seq: number;
  kind: string;
  at: string;
  hash: string;
  msgId?: string;
  subject?: string;
  agent?: string;
  type?: string;
  decision?: string;
  stage?: string;
  reason?: string;
  rule?: string;
  outcome?: string;
  action?: string;
};

/** A page of one partition's chain, newest first: what the console's Ledger view lists. */
export async function ledgerEntryRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  app.get<{ Querystring: Query }>(
    '/ledger/entries',
    {
      config: {
        role: 'viewer',
        says: {
          partition: 'partition must be a whole number from 0',
          before: 'before must be a whole number (a seq)',
          limit: 'limit must be a whole number',
        },
      },
      schema: {
        summary: "A page of one partition's ledger entries, newest first",
        tags: ['ledger'],
        querystring: {
          type: 'object',
          properties: {
            partition: { ...whole, description: 'Which partition (default 0)' },
            before: {
              ...whole,
              description: 'Only entries with a seq below this one (the `next` of a page)',
            },
            limit: {
              ...whole,
              description: `How many entries, 1 to ${MAX_LIMIT} (default ${DEFAULT_LIMIT})`,
            },
          },
          additionalProperties: false,
        },
        response: {
          200: {
            type: 'object',
            properties: {
              partition: { type: 'integer' },
              size: { type: 'integer' },
              entries: { type: 'array', items: { type: 'object', additionalProperties: true } },
              next: { type: ['integer', 'null'] },
            },
          },
          ...errors(400, 503),
        },
      },
    },
    async (request) => {
      const partitions = deps.mesh.policy.partitions;
      const partition = Number(request.query.partition ?? 0);
      if (partition >= partitions) {
        throw badQuery('/partition', `partition must be below ${partitions}, the mesh's partition count`);
      }
      const limit = Number(request.query.limit ?? DEFAULT_LIMIT);
      if (limit < 1 || limit > MAX_LIMIT) throw badQuery('/limit', `limit must be 1 to ${MAX_LIMIT}`);
      // The partition's size as stored: in a cluster, other nodes' newest entries included.
      const size = await deps.ledger.newestSeq(partition);
      const last = Math.min(
        size,
        request.query.before === undefined ? size : Number(request.query.before) - 1,
      );
      const first = Math.max(1, last - limit + 1);
      const entries: EntryView[] = [];
      if (last >= 1) {
        for await (const entry of deps.ledger.scan({ partition, afterSeq: first - 1 })) {
          if (entry.seq > last) break;
          entries.push(view(entry));
        }
      }
      entries.reverse();
      await nameTheirMessages(deps.ledger, entries);
      return { partition, size, entries, next: first > 1 && last >= 1 ? first : null };
    },
  );
}

/**
 * An entry about a message that does not carry the message (a hold's answer, a delivery) gets its
 * type and subject from the message's decision, so a list names which message it is about.
 */
async function nameTheirMessages(ledger: Pick<ApiDeps['ledger'], 'byMessage'>, entries: EntryView[]) {
  const decided = new Map<string, { type?: string; subject?: string }>();
  for (const e of entries) {
    if (e.msgId === undefined || e.type !== undefined) continue;
    let about = decided.get(e.msgId);
    if (about === undefined) {
      const decision = (await ledger.byMessage(e.msgId)).find((x) => x.kind === ENTRY.decision);
      const envelope = (decision?.data as { envelope?: { type?: unknown } } | undefined)?.envelope;
      about = {
        ...(typeof envelope?.type === 'string' ? { type: envelope.type } : {}),
        ...(decision?.subject === undefined ? {} : { subject: decision.subject }),
      };
      decided.set(e.msgId, about);
    }
    if (about.type !== undefined) e.type = about.type;
    if (e.subject === undefined && about.subject !== undefined) e.subject = about.subject;
  }
}

function badQuery(pointer: string, detail: string) {
  // The same pointer a schema failure of the query names.
  return apiError('MW_API_BAD_REQUEST', { detail }, { location: { pointer } });
}

/** The fields a pilot scans a list by; the whole entry is in `why` and `meshwarden audit`. */
function view(entry: LedgerEntry): EntryView {
  const d = entry.data as {
    verdict?: { decision?: string; stage?: string; reason?: string; rule?: string | null };
    envelope?: { type?: string };
    outcome?: string;
    action?: string;
    effect?: string;
  };
  const type = d.envelope?.type ?? d.effect;
  return {
    partition: entry.partition,
    seq: entry.seq,
    kind: entry.kind,
    at: new Date(entry.at).toISOString(),
    hash: entry.hash,
    ...(entry.msgId === undefined ? {} : { msgId: entry.msgId }),
    ...(entry.subject === undefined ? {} : { subject: entry.subject }),
    ...(entry.agent === undefined ? {} : { agent: entry.agent }),
    ...(typeof type === 'string' ? { type } : {}),
    ...(typeof d.verdict?.decision === 'string' ? { decision: d.verdict.decision } : {}),
    ...(typeof d.verdict?.stage === 'string' ? { stage: d.verdict.stage } : {}),
    ...(typeof d.verdict?.reason === 'string' ? { reason: d.verdict.reason } : {}),
    ...(typeof d.verdict?.rule === 'string' ? { rule: d.verdict.rule } : {}),
    ...(typeof d.outcome === 'string' ? { outcome: d.outcome } : {}),
    ...(typeof d.action === 'string' ? { action: d.action } : {}),
  };
}
