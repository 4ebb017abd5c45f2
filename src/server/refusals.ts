import type { FastifyError, FastifyRequest } from 'fastify';
import { isMeshwardenError, type MeshwardenError } from '../runtime/index.js';
import { refusedBodyOf } from './body.js';
import type { ApiDeps } from './deps.js';

/**
 * Why a call's body was refused, as the reason its quarantine record carries (`ingress.body_*`), or
 * undefined when the refusal was not about the body (a token, a name, a rate, a shutdown).
 */
export function bodyRefusalOf(
  request: FastifyRequest,
  err: FastifyError | MeshwardenError,
): string | undefined {
  const parsed = refusedBodyOf(request);
  if (parsed !== undefined) return parsed.reason;
  if (isMeshwardenError(err)) return undefined;
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return 'ingress.body_too_large';
  if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return 'ingress.body_media_type';
  if (err.validation !== undefined)
    return err.validationContext === 'body' ? 'ingress.body_invalid' : undefined;
  if (err.code?.startsWith('FST_ERR_CTP_') === true) return 'ingress.body_unreadable';
  return undefined;
}

/**
 * A refused body is logged at warn (no stack: it is the caller's mistake, not ours), and when it came
 * through an ingress door (`config.door`) from a caller whose token checked out, it is quarantined in
 * the ledger as `run --input` does with a bad line: what arrived, where (`POST /api/v1/…#pointer`),
 * the reason and the sentence the caller got. An anonymous caller never gets this far: the token is
 * checked before the body is read, and unauthenticated calls cost no disk.
 */
export async function recordRefusal(
  deps: ApiDeps,
  request: FastifyRequest,
  reason: string,
  error: MeshwardenError,
): Promise<void> {
  const caller = request.pilot?.name;
  const door = request.routeOptions.config.door === true && caller !== undefined;
  request.log.warn(
    { code: error.code, reason, url: request.url, caller, recorded: door },
    'request body refused',
  );
  if (!door || deps.closing()) return;
  const pointer = error.location?.pointer;
  try {
    await deps.mesh.reject({
      raw: refusedBodyOf(request)?.text ?? rawOf(request.body),
      location: `${request.method} ${request.url}${pointer === undefined ? '' : `#${pointer}`}`,
      reason,
      detail: `${capitalized(error.message)} (sent by ${caller}).`,
      sentBy: `${doorOf(request.url, request.pilot?.role === 'partner')}:${caller}`,
      partner: request.pilot?.role === 'partner',
    });
  } catch (err) {
    request.log.warn({ code: (err as { code?: unknown }).code, reason }, 'refused body not recorded');
  }
}

/** A parsed body, as text again: it passed the depth and Unicode checks, so it has one. */
function rawOf(body: unknown): string {
  if (body === undefined) return '';
  return typeof body === 'string' ? body : (JSON.stringify(body) ?? '');
}

const capitalized = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/** How a decision names who sent through this door: as the door's own sends record them. */
function doorOf(url: string, partner: boolean): string {
  if (/\/api\/v1\/mcp(?:[/?]|$)/.test(url)) return 'mcp';
  if (url.includes('/api/v1/a2a/')) return 'a2a';
  return partner ? 'partner' : 'pilot';
}
