import type { Credential } from '../auth.js';
import { interopError } from '../errors.js';
import { answerError } from '../http-answer.js';

/** The largest reply read from an MCP server over HTTP unless told otherwise. */
export const MAX_REPLY_BYTES = 16 * 1024 * 1024;

/**
 * The `fetch` the MCP client uses for one Streamable HTTP server: a reply body (JSON, or the SSE
 * stream that answers one request) is counted as it streams, and one over `limit` bytes fails with
 * MW_INTEROP_REPLY_TOO_BIG instead of being buffered whole. The standing GET stream of a 2025-era
 * server is left alone: it carries notifications for as long as the connection lives. A redirect
 * is read, never followed (MW_INTEROP_REDIRECT): fetch would send a credential in any header but
 * Authorization on to whatever host it names.
 */
export function cappedFetch(
  limit: number,
  where: { who: string; url: string },
  credential?: Credential,
): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, { ...init, redirect: 'manual' });
    if (response.status >= 300 && response.status < 400)
      throw await answerError(response, { url: where.url, credential, where });
    const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
    if (response.body === null || method.toUpperCase() === 'GET') return response;
    let seen = 0;
    const counted = response.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          seen += chunk.byteLength;
          if (seen > limit) controller.error(interopError('MW_INTEROP_REPLY_TOO_BIG', { ...where, limit }));
          else controller.enqueue(chunk);
        },
      }),
    );
    return new Response(counted, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}
