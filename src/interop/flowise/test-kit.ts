import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { json, type LoopbackPeer, type Received, startLoopback } from '../json-http/test-kit.js';

/** What a flow answers for a prediction request: its `text`, and `json` when it has a structured output. */
export type Flow = (request: PredictionRequest) => { readonly text: unknown; readonly json?: unknown };

/** The prediction request as Flowise reads it (the members the stand-in uses). */
export type PredictionRequest = {
  readonly question?: unknown;
  readonly chatId?: unknown;
  readonly streaming?: unknown;
  readonly overrideConfig?: { readonly sessionId?: unknown };
};

export type FlowiseStandIn = LoopbackPeer<'ok'> & {
  /** The flows it serves, by chatflow id. */
  readonly flows: Map<string, Flow>;
  /** When set, predictions need `Authorization: [Bearer ]<apiKey>` (the flow's API key), or get 500. */
  apiKey: string | undefined;
  /** When set, a prediction is answered with this text as JSON, as it is (`1e400`, say). */
  raw: string | undefined;
};

/** The chatflow id of the default flow (Flowise ids are UUIDs). */
export const TRIAGE_FLOW = '3f0c2b1e-7d4a-4c55-9a1e-2b8f6d0c9e11';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A stand-in for a Flowise server's prediction API, matching what Flowise 3.1.4 answers
 * (/work/notes/flowise-shapes.md, recorded from the real server): `POST /api/v1/prediction/:id`
 * with a JSON body answers `{ text, json?, question, chatId, chatMessageId, executionId, sessionId }`
 * (chatId is the request's, else its sessionId, else a new one; sessionId is
 * `overrideConfig.sessionId`, else the chatId). Errors have Flowise's shape `{ statusCode, success:
 * false, message, stack: {} }`: 400 for an id that is not a UUID, 404 for an unknown chatflow, 500
 * without the flow's API key (`… - Unauthorized`) and when the flow fails. Anything else (a GET,
 * another path) gets the web app's HTML page with 200, as Flowise serves it. The default flow labels a ticket: `billing`
 * when the question mentions money, else `general`, as structured output.
 */
export async function startFlowiseStandIn(): Promise<FlowiseStandIn> {
  const fail = (res: ServerResponse, status: number, message: string) =>
    json(res, status, JSON.stringify({ statusCode: status, success: false, message, stack: {} }));
  const base = await startLoopback<'ok'>('ok', {
    fail,
    answer(request, res) {
      const match = /^\/api\/v1\/prediction\/([^/?]+)$/.exec(request.path);
      if (request.method !== 'POST' || match === null) {
        res.writeHead(200, { 'content-type': 'text/html; charset=UTF-8' });
        return res.end(
          '<!DOCTYPE html><html><head><title>Flowise</title></head><body><div id="root"></div></body></html>',
        );
      }
      const id = decodeURIComponent(match[1]!);
      if (!UUID.test(id)) return fail(res, 400, 'Invalid Chatflow ID');
      const flow = self.flows.get(id);
      if (flow === undefined) return fail(res, 404, `Chatflow ${id} not found in the database!`);
      // Flowise 3.1.4 takes the key with or without `Bearer`, and refuses a missing or wrong one
      // with a 500, not a 401.
      const auth = request.headers.authorization;
      if (self.apiKey !== undefined && auth !== `Bearer ${self.apiKey}` && auth !== self.apiKey)
        return fail(res, 500, 'Error: predictionsServices.buildChatflow - Unauthorized');
      json(res, 200, self.raw ?? JSON.stringify(predict(request, flow)));
    },
  });
  const self: FlowiseStandIn = Object.assign(base, {
    flows: new Map<string, Flow>([[TRIAGE_FLOW, triageFlow]]),
    apiKey: undefined as string | undefined,
    raw: undefined as string | undefined,
  });
  return self;
}

/** Labels a ticket, as a flow with a structured output parser would. */
export const triageFlow: Flow = (request) => {
  const question = String(request.question ?? '');
  const label = /refund|invoice|charge|credit/i.test(question) ? 'billing' : 'general';
  return { text: `This ticket is about ${label}.`, json: { label } };
};

/** An agentflow's answer to an object its Custom Function returned: pretty JSON text, no `json`. */
export const jsonTextFlow =
  (value: unknown): Flow =>
  () => ({ text: JSON.stringify(value, null, 2) });

function predict(request: Received, flow: Flow) {
  const body = (request.body ?? {}) as PredictionRequest;
  const session =
    typeof body.overrideConfig?.sessionId === 'string' ? body.overrideConfig.sessionId : undefined;
  const chatId = typeof body.chatId === 'string' ? body.chatId : (session ?? randomUUID());
  const answer = flow(body);
  return {
    text: answer.text,
    ...(answer.json === undefined ? {} : { json: answer.json }),
    ...(body.question === undefined ? {} : { question: body.question }),
    chatId,
    chatMessageId: randomUUID(),
    executionId: randomUUID(),
    sessionId: session ?? chatId,
  };
}
