import { interopError } from '../errors.js';

/** The largest reply read from an MCP server over HTTP unless told otherwise. */
export const MAX_REPLY_BYTES = 16 * 1024 * 1024;

/**
 * The `fetch` the MCP client uses for one Streamable HTTP server: a reply body (JSON, or the SSE
 * stream that answers one request) is counted as it streams, and one over `limit` bytes fails with
 * MW_INTEROP_REPLY_TOO_BIG instead of being buffered whole. The standing GET stream of a 2025-era
 * server is left alone: it carries notifications for as long as the connection lives.
 */
export function cappedFetch(limit: number, where: { who: string; url: string }): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
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
