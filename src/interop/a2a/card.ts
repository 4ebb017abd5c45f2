import type { AgentCard } from '@a2a-js/sdk';
import {
  type Client,
  ClientFactory,
  DefaultAgentCardResolver,
  JsonRpcTransportFactory,
  RestTransportFactory,
} from '@a2a-js/sdk/client';
import { errorText, isMeshwardenError, type MeshwardenError } from '../../runtime/index.js';
import type { Credential } from '../auth.js';
import { interopError } from '../errors.js';
import { keyHint } from '../http-answer.js';
import { a2aError } from './errors.js';
import { guardedFetch } from './fetch.js';
import { ACCEPTED_OUTPUT } from './message.js';

export type CardTarget = {
  readonly who: string;
  /** The agent card URL, as the policy gives it. */
  readonly url: string;
  readonly maxReplyBytes: number;
  readonly timeoutMs: number;
  readonly credential?: Credential | undefined;
};

// Many deployed agents still speak A2A 0.3: the SDK's compat layer reads their cards and speaks
// their wire format, so they need no setting of their own.
const legacyCompat = { enabled: true };

/**
 * Fetches an agent's card and makes the SDK client for the interface it prefers (JSON-RPC or
 * HTTP+JSON, A2A 1.0 or 0.3). The card fetch has its own timeout, since callers share it. A host that
 * cannot be reached is MW_INTEROP_UNREACHABLE; everything else that keeps the card from being used (a
 * 404, HTML, JSON that is no agent card, no interface the SDK speaks) is MW_INTEROP_A2A_CARD.
 */
export async function connectCard(target: CardTarget): Promise<Client> {
  const where = { who: target.who, url: target.url };
  const credential =
    target.credential === undefined
      ? undefined
      : { credential: target.credential, origin: new URL(target.url).origin };
  const resolver = new DefaultAgentCardResolver({
    fetchImpl: guardedFetch(target.who, target.maxReplyBytes, target.timeoutMs, credential),
    legacyCompat,
  });
  let card: unknown;
  try {
    card = await resolver.resolve(target.url, '');
  } catch (cause) {
    throw cardError(cause, target);
  }
  const problem = cardProblem(card);
  if (problem !== undefined) throw a2aError('MW_INTEROP_A2A_CARD', { ...where, problem });
  const fetchImpl = guardedFetch(target.who, target.maxReplyBytes, undefined, credential);
  const factory = new ClientFactory({
    transports: [
      new JsonRpcTransportFactory({ fetchImpl, legacyCompat }),
      new RestTransportFactory({ fetchImpl, legacyCompat }),
    ],
    cardResolver: resolver,
    clientConfig: { acceptedOutputModes: ACCEPTED_OUTPUT },
  });
  try {
    return await factory.createFromAgentCard(card as AgentCard);
  } catch (cause) {
    throw cardError(cause, target);
  }
}

/** Why a resolved card cannot be used, or undefined. The resolver passes any JSON through as is. */
function cardProblem(card: unknown): string | undefined {
  if (card === null || typeof card !== 'object' || Array.isArray(card)) return 'it is not a JSON object';
  const c = card as { name?: unknown; supportedInterfaces?: unknown };
  if (typeof c.name !== 'string' || c.name === '') return 'it has no name';
  if (!Array.isArray(c.supportedInterfaces) || c.supportedInterfaces.length === 0)
    return 'it lists no interface to call (supportedInterfaces, or url in A2A 0.3)';
  return undefined;
}

function cardError(cause: unknown, target: CardTarget): MeshwardenError {
  const where = { who: target.who, url: target.url };
  if (isMeshwardenError(cause)) {
    if (cause.code !== 'MW_INTEROP_HTTP_STATUS') return cause;
    // What the status said stays: the remote's message, a refused key, and whether it is final.
    const { status, remote, credential, final } = (cause.details ?? {}) as Record<string, unknown>;
    const key = credential === 'refused' || credential === 'missing' ? `. ${keyHint(credential)}` : '';
    const problem = `it is served with HTTP ${String(status)}${remote === undefined ? '' : ` (${String(remote)})`}${key}`;
    const details = {
      status,
      ...(credential === undefined ? {} : { credential }),
      ...(final === true ? { final } : {}),
    };
    return a2aError('MW_INTEROP_A2A_CARD', { ...where, problem }, { cause, details });
  }
  if (cause instanceof Error && cause.name === 'TimeoutError')
    return interopError('MW_INTEROP_TIMEOUT', { ...where, ms: target.timeoutMs, change: '' }, { cause });
  return a2aError('MW_INTEROP_A2A_CARD', { ...where, problem: errorText(cause) }, { cause });
}
