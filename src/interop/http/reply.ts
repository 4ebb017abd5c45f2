import {
  duplicateKeyAt,
  type JsonValue,
  type MeshwardenError,
  REMOTE_ATTRIBUTES,
  type RemoteEvent,
} from '../../runtime/index.js';
import { interopError } from '../errors.js';

type Where = { readonly who: string; readonly url: string };

const BATCH = 'application/cloudevents-batch+json';
const SINGLE = 'application/cloudevents+json';
const PLAIN = 'application/json';

/**
 * The body of a reply, read up to `limit` bytes: a longer one is refused without reading the rest, so
 * a misbehaving agent cannot make the warden buffer without bound.
 */
export async function readBody(
  response: Response,
  limit: number,
  where: Where,
): Promise<string | MeshwardenError> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > limit) {
    await response.body?.cancel();
    return interopError('MW_INTEROP_REPLY_TOO_BIG', { ...where, limit });
  }
  const reader = response.body?.getReader();
  if (reader === undefined) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      return interopError('MW_INTEROP_REPLY_TOO_BIG', { ...where, limit });
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The events of a reply: a CloudEvents batch (a JSON array), one structured CloudEvent, or plain
 * JSON holding either. An empty body (or 204) is no events. Each event needs a string `type` and a
 * `data` member; everything else the gate checks like any envelope. A 2xx that cannot be read so is
 * final, as for flowise and http agents: another try would run the agent again for an answer that
 * reads the same, and the agent answered, so it counts not toward its circuit.
 */
export function parseReply(contentType: string, body: string, where: Where): RemoteEvent[] | MeshwardenError {
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  if (body.trim() === '') return [];
  if (type !== BATCH && type !== SINGLE && type !== PLAIN) {
    return interopError(
      'MW_INTEROP_CONTENT_TYPE',
      { ...where, type: type === '' ? '(none)' : type },
      { details: { final: true } },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (cause) {
    return interopError(
      'MW_INTEROP_BAD_REPLY',
      { ...where, expected: 'CloudEvents', problem: 'the body is not JSON' },
      { cause, details: { final: true } },
    );
  }
  // JSON.parse keeps a repeated name's last value and drops the first: an answer read one way here
  // and another by whoever else reads it is not taken, as a request body that does is refused.
  const twice = duplicateKeyAt(body);
  if (twice !== undefined)
    return interopError(
      'MW_INTEROP_BAD_REPLY',
      {
        ...where,
        expected: 'CloudEvents',
        problem: `the body gives the member ${twice} twice`,
      },
      { details: { final: true } },
    );
  const list = Array.isArray(parsed) ? parsed : [parsed];
  const events: RemoteEvent[] = [];
  for (const [i, item] of list.entries()) {
    const at = Array.isArray(parsed) ? `/${i}` : '';
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      return badEvent(where, at, 'is not an object');
    }
    const e = item as Record<string, unknown>;
    if (typeof e.type !== 'string' || e.type === '')
      return badEvent(where, `${at}/type`, 'is not a non-empty string');
    if (!('data' in e)) return badEvent(where, `${at}/data`, 'is missing');
    // Only what a remote may author is taken: anything else it sends (`unmapped`, say, which only
    // the warden's own transports set) is not the remote's to claim.
    const event: Record<string, unknown> = { type: e.type, data: e.data };
    for (const key of REMOTE_ATTRIBUTES) {
      if (e[key] !== undefined && typeof e[key] !== 'string')
        return badEvent(where, `${at}/${key}`, 'is not a string');
      if (e[key] !== undefined) event[key] = e[key];
    }
    events.push(event as RemoteEvent & { data: JsonValue });
  }
  return events;
}

function badEvent(where: Where, pointer: string, problem: string): MeshwardenError {
  return interopError(
    'MW_INTEROP_BAD_REPLY',
    { ...where, expected: 'CloudEvents', problem: `${pointer || '/'} ${problem}` },
    { location: { pointer }, details: { final: true } },
  );
}
