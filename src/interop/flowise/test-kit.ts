import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { json, type LoopbackPeer, type Received, startLoopback } from '../json-http/test-kit.js';

/** What a flow answers for a prediction request: its `text`, and `json` when it has a structured output. */
export type Flow = (request: PredictionRequest) => { readonly text: string; readonly json?: unknown };

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
  /** When set, predictions need `Authorization: Bearer <apiKey>` (the flow's API key), or get 401. */
  apiKey: string | undefined;
};

/**
 * A stand-in for a Flowise server's prediction API, as documented and as Flowise 3 answers:
 * `POST /api/v1/prediction/:id` with a JSON body answers `{ text, json?, question, chatId,
 * chatMessageId, sessionId }` (chatId is the request's, else a new one; sessionId is
 * `overrideConfig.sessionId`, else the chatId). Errors have Flowise's shape `{ statusCode, success:
 * false, message, stack }`: 401 without the flow's API key, 404 for an unknown chatflow, 500 when
 * the flow fails. The default flow, `triage`, labels a ticket: `billing` when the question mentions
 * money, else `general`, as structured output.
 */
export async function startFlowiseStandIn(): Promise<FlowiseStandIn> {
  const fail = (res: ServerResponse, status: number, message: string) =>
    json(res, status, JSON.stringify({ statusCode: status, success: false, message, stack: {} }));
  const base = await startLoopback<'ok'>('ok', {
    fail,
    answer(request, res) {
      const match = /^\/api\/v1\/prediction\/([^/?]+)$/.exec(request.path);
      if (request.method !== 'POST' || match === null)
        return fail(res, 404, `Cannot ${request.method} ${request.path}`);
      const id = decodeURIComponent(match[1]!);
      const flow = self.flows.get(id);
      if (flow === undefined) return fail(res, 404, `Chatflow ${id} not found`);
      if (self.apiKey !== undefined && request.headers.authorization !== `Bearer ${self.apiKey}`)
        return fail(res, 401, 'Unauthorized');
      json(res, 200, JSON.stringify(predict(request, flow)));
    },
  });
  const self: FlowiseStandIn = Object.assign(base, {
    flows: new Map<string, Flow>([['triage', triageFlow]]),
    apiKey: undefined as string | undefined,
  });
  return self;
}

/** Labels a ticket, as a flow with a structured output parser would. */
export const triageFlow: Flow = (request) => {
  const question = String(request.question ?? '');
  const label = /refund|invoice|charge|credit/i.test(question) ? 'billing' : 'general';
  return { text: `This ticket is about ${label}.`, json: { label } };
};

function predict(request: Received, flow: Flow) {
  const body = (request.body ?? {}) as PredictionRequest;
  const chatId = typeof body.chatId === 'string' ? body.chatId : randomUUID();
  const session = body.overrideConfig?.sessionId;
  const answer = flow(body);
  return {
    text: answer.text,
    ...(answer.json === undefined ? {} : { json: answer.json }),
    question: body.question,
    chatId,
    chatMessageId: randomUUID(),
    sessionId: typeof session === 'string' ? session : chatId,
  };
}
