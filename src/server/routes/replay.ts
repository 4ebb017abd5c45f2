import { dirname, join, resolve } from 'node:path';
import type { FastifyError, FastifyInstance } from 'fastify';
import { isMeshwardenError, loadPolicyText, replayLedger } from '../../runtime/index.js';
import { codingProblem, utf8Text } from '../body.js';
import type { ApiDeps } from '../deps.js';
import { apiError } from '../errors.js';
import { errors } from '../schemas.js';
import { outsideFiles } from './replay-paths.js';

/** A candidate mesh file is text of a few KiB; a body over this is refused (413) before it is read. */
export const REPLAY_BODY_LIMIT = 256 * 1024;

type Body = { policy: string; from?: string; to?: string };

const time = { type: 'string', maxLength: 64, description: 'ISO 8601, or milliseconds since 1970' } as const;
const verdictView = {
  type: 'object',
  properties: {
    verdict: { type: 'string' },
    stage: { type: 'string' },
    rule: { type: 'string' },
    reason: { type: 'string' },
    detail: { type: 'string' },
  },
} as const;

/**
 * `POST /replay`: what a candidate mesh file (its text in the body) would have decided on the
 * recorded traffic (docs/replay.md): the same document as `meshwarden replay --json`. Relative
 * contract and module paths in it resolve from the running mesh file's folder.
 */
export async function replayRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  // One replay at a time (another is refused, 409): each reads the whole ledger while the mesh keeps
  // deciding. It stops when its client leaves or the server closes.
  let running: AbortController | undefined;
  deps.onClosing(() => running?.abort());
  // The mesh file as it is (`--data-binary @candidate.yaml`), with `from` and `to` in the query.
  app.addContentTypeParser(
    ['application/yaml', 'text/yaml'],
    { parseAs: 'buffer', bodyLimit: REPLAY_BODY_LIMIT },
    (request, bytes: Buffer, done) => {
      const refused = codingProblem(request, 'application/yaml');
      const body = refused ?? utf8Text(bytes);
      if (typeof body !== 'string') return done(body as unknown as FastifyError, undefined);
      const { from, to } = request.query as { from?: unknown; to?: unknown };
      done(null, {
        policy: body,
        ...(typeof from === 'string' ? { from } : {}),
        ...(typeof to === 'string' ? { to } : {}),
      });
    },
  );
  app.post<{ Body: Body }>(
    '/replay',
    {
      config: { role: 'pilot' },
      bodyLimit: REPLAY_BODY_LIMIT,
      schema: {
        summary:
          'Replay the recorded traffic against a candidate mesh file: the verdict matrix, the changes, what would not have happened, the effects that would not have run, the breakers',
        tags: ['policy'],
        consumes: ['application/json', 'application/yaml', 'text/yaml'],
        querystring: {
          type: 'object',
          properties: {
            from: { ...time, description: 'With a YAML body: ISO 8601, or milliseconds since 1970' },
            to: { ...time, description: 'With a YAML body: ISO 8601, or milliseconds since 1970' },
          },
          additionalProperties: false,
        },
        body: {
          type: 'object',
          required: ['policy'],
          properties: {
            policy: {
              type: 'string',
              maxLength: REPLAY_BODY_LIMIT,
              description: 'The candidate mesh file (YAML text)',
            },
            from: time,
            to: time,
          },
          additionalProperties: false,
        },
        response: {
          200: {
            type: 'object',
            additionalProperties: true,
            properties: {
              mesh: { type: 'string' },
              decisions: { type: 'integer' },
              changed: { type: 'integer' },
              matrix: { type: 'object', additionalProperties: { type: 'integer' } },
              changes: {
                type: 'array',
                items: {
                  type: 'object',
                  additionalProperties: true,
                  properties: {
                    id: { type: 'string' },
                    type: { type: 'string' },
                    subject: { type: 'string' },
                    recorded: verdictView,
                    candidate: verdictView,
                  },
                },
              },
              suppressed: { type: 'array', items: { type: 'string' } },
              effects: { type: 'object', additionalProperties: true },
              breakers: { type: 'object', additionalProperties: true },
            },
          },
          ...errors(400, 409, 413, 503),
        },
      },
    },
    async (request, reply) => {
      if (deps.closing()) throw apiError('MW_API_CLOSING');
      if (running !== undefined) throw apiError('MW_API_REPLAY_BUSY');
      // With a JSON body, `from` and `to` are in the body: a query beside it is refused, not ignored.
      const query = Object.keys((request.query ?? {}) as object);
      if (query.length > 0 && !/yaml/i.test(request.headers['content-type'] ?? ''))
        throw apiError(
          'MW_API_BAD_REQUEST',
          {
            detail: `with a JSON body, give ${query[0]} in the body, not the query (the query is for a YAML body)`,
          },
          { location: { pointer: `/${query[0]}` } },
        );
      const { policy: text, from, to } = request.body;
      const window = { ...timeOf('from', from), ...timeOf('to', to) };
      if (window.from !== undefined && window.to !== undefined && window.from >= window.to)
        throw apiError('MW_API_BAD_REQUEST', {
          detail: 'from must be before to: the window is from `from` up to, not including, `to`',
        });
      // Issues name the candidate as `candidate.yaml`, beside the running mesh file.
      const path = join(dirname(resolve(deps.mesh.policy.file)), 'candidate.yaml');
      const outside = outsideFiles(path, text);
      const loaded = outside.length > 0 ? undefined : await loadPolicyText('candidate.yaml', path, text);
      if (loaded === undefined || !loaded.ok) {
        const issues =
          loaded === undefined
            ? outside
            : loaded.issues.map((i) => ({
                code: i.code,
                location: `${i.file}:${i.line}:${i.col}`,
                message: i.message,
              }));
        throw apiError(
          'MW_API_CANDIDATE_INVALID',
          { file: 'candidate.yaml', problems: `${issues.length} problem${issues.length === 1 ? '' : 's'}` },
          { details: { issues } },
        );
      }
      if (running !== undefined) throw apiError('MW_API_REPLAY_BUSY');
      const mine = new AbortController();
      running = mine;
      const left = () => {
        if (!reply.raw.writableFinished) mine.abort();
      };
      reply.raw.once('close', left);
      let report: Awaited<ReturnType<typeof replayLedger>>;
      try {
        report = await replayLedger(deps.ledger, loaded.policy, { ...window, signal: mine.signal });
      } finally {
        running = undefined;
        reply.raw.off('close', left);
      }
      if (isMeshwardenError(report)) {
        if (report.code === 'MW_RUNTIME_REPLAY_ABORTED') throw apiError('MW_API_CLOSING');
        throw report;
      }
      deps.log.info({ by: request.pilot?.name, changed: report.changed }, 'policy replayed');
      return report;
    },
  );
}

function timeOf(which: 'from' | 'to', value: string | undefined): { from?: number; to?: number } {
  if (value === undefined) return {};
  const ms = /^\d{1,15}$/.test(value)
    ? Number(value)
    : /^\d{4}-\d{2}-\d{2}/.test(value)
      ? Date.parse(value)
      : Number.NaN;
  if (!Number.isFinite(ms)) {
    throw apiError('MW_API_BAD_REQUEST', {
      detail: `${which} must be an ISO 8601 time or milliseconds since 1970, not ${JSON.stringify(value).slice(0, 60)}`,
    });
  }
  return { [which]: ms };
}
