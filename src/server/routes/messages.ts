import type { FastifyInstance } from 'fastify';
import {
  impactOf,
  type JsonValue,
  type Policy,
  pilotActor,
  searchLedger,
  whyChain,
} from '../../runtime/index.js';
import { refuseParsedBody } from '../body.js';
import type { ApiDeps } from '../deps.js';
import { apiError } from '../errors.js';
import { anyObject, errors } from '../schemas.js';

const name = { type: 'string', minLength: 1, maxLength: 200 } as const;
const idParams = { type: 'object', properties: { id: name }, required: ['id'] } as const;

type SendBody = {
  type: string;
  subject: string;
  data: JsonValue;
  ingress?: string;
  to?: string;
  causationid?: string;
};

/** Sending into the mesh, and the lineage queries: why, impact, search. */
export async function messageRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { mesh, ledger } = deps;

  app.post<{ Body: SendBody }>(
    '/messages',
    {
      // A partner may send too: the gate lets its message reach only the exposed agent it addresses.
      config: { role: 'pilot', partners: true, door: true },
      schema: {
        summary: 'Send a root message into the mesh through an ingress; it passes the gate like any other',
        tags: ['messages'],
        body: {
          type: 'object',
          properties: { type: name, subject: name, data: {}, ingress: name, to: name, causationid: name },
          required: ['type', 'subject', 'data'],
          additionalProperties: false,
        },
        response: {
          202: { type: 'object', properties: { id: { type: 'string' }, verdict: anyObject } },
          ...errors(400, 503),
        },
      },
    },
    async (request, reply) => {
      if (deps.closing()) throw apiError('MW_API_CLOSING');
      const body = request.body;
      const caller = request.pilot!;
      const partner = caller.role === 'partner';
      let ingress: string;
      try {
        ingress = partner
          ? partnerIngress(mesh.policy, body.to)
          : ingressFor(mesh.policy, body.type, body.ingress);
      } catch (err) {
        // A message no ingress takes is refused at the door, and recorded there like a bad body.
        refuseParsedBody(request, 'ingress.body_unroutable');
        throw err;
      }
      const entry = await mesh.inject(ingress, {
        type: body.type,
        subject: body.subject,
        data: body.data,
        ...(body.to === undefined ? {} : { target: body.to }),
        ...(body.causationid === undefined ? {} : { causationid: body.causationid }),
        ...(partner ? { sentBy: `partner:${caller.name}`, partner } : { sentBy: pilotActor(caller.name) }),
        // W3C trace context: the case continues the caller's trace (a malformed header is ignored).
        ...(typeof request.headers.traceparent === 'string'
          ? { traceparent: request.headers.traceparent }
          : {}),
      });
      const { verdict } = entry.data as { verdict: unknown };
      return reply.code(202).send({ id: entry.msgId, verdict });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/messages/:id/why',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'The causal chain that led to a message, root first, and the pilot actions on it',
        tags: ['lineage'],
        params: idParams,
        response: { 200: anyObject, ...errors(404) },
      },
    },
    async (request) => {
      const why = await whyChain(ledger, request.params.id);
      if (why === undefined) throw apiError('MW_API_NOT_FOUND', { what: `message ${request.params.id}` });
      return why;
    },
  );

  app.get<{ Params: { id: string } }>(
    '/messages/:id/impact',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Everything that followed a message (its blast radius)',
        tags: ['lineage'],
        params: idParams,
        response: { 200: anyObject, ...errors(404) },
      },
    },
    async (request) => {
      const impact = await impactOf(ledger, request.params.id);
      if (impact === undefined) throw apiError('MW_API_NOT_FOUND', { what: `message ${request.params.id}` });
      return impact;
    },
  );

  app.get<{ Querystring: { q: string } }>(
    '/search',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Find messages by id, subject (account:8841) or agent version (churn@1.0.0), newest first',
        tags: ['lineage'],
        querystring: { type: 'object', properties: { q: name }, required: ['q'] },
        response: {
          200: {
            type: 'object',
            properties: {
              q: { type: 'string' },
              kind: { type: 'string', enum: ['message', 'subject', 'agent'] },
              results: { type: 'array', items: anyObject },
            },
          },
          ...errors(400),
        },
      },
    },
    async (request) => searchLedger(ledger, request.query.q.trim()),
  );
}

/**
 * The ingress a partner's message goes in by, whatever ingress it names, so that no answer lists or
 * confirms the mesh's own: the addressed agent's `via`, else the first `via` (or ingress) of the
 * policy. The gate then admits it only if it is addressed to an agent exposed through that ingress,
 * and records the refusal of anything else.
 */
function partnerIngress(policy: Policy, agent: string | undefined): string {
  const exposed = agent === undefined ? undefined : policy.agents.get(agent)?.expose?.via;
  if (exposed !== undefined) return exposed;
  const via = [...policy.agents.values()].find((a) => a.expose !== undefined)?.expose?.via;
  const first = via ?? policy.ingress.keys().next().value;
  if (first === undefined)
    throw apiError(
      'MW_API_BAD_REQUEST',
      { detail: 'the mesh has no ingress' },
      { location: { pointer: '/ingress' } },
    );
  return first;
}

/** The named ingress, or the only one that may emit `type`. */
function ingressFor(policy: Policy, type: string, named: string | undefined): string {
  if (named !== undefined) {
    if (!policy.ingress.has(named)) {
      throw apiError(
        'MW_API_BAD_REQUEST',
        { detail: `the mesh has no ingress named ${named}` },
        { location: { pointer: '/ingress' } },
      );
    }
    return named;
  }
  const able = [...policy.ingress.values()].filter((i) => i.emits.includes(type)).map((i) => i.name);
  if (able.length === 1) return able[0]!;
  const detail =
    able.length === 0
      ? `no ingress may emit ${type}; the mesh file lists what each ingress emits`
      : `several ingress sources may emit ${type} (${able.join(', ')}); name one with "ingress"`;
  throw apiError('MW_API_BAD_REQUEST', { detail }, { location: { pointer: '/ingress' } });
}
