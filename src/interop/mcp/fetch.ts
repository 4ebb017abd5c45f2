import { isMeshwardenError } from '../../runtime/index.js';
import { type Credential, withoutSecret } from '../auth.js';
import { interopError } from '../errors.js';
import { readBody } from '../http/reply.js';

/** The largest reply read from an MCP server over HTTP unless told otherwise. */
export const MAX_REPLY_BYTES = 16 * 1024 * 1024;

/**
 * The `fetch` the MCP client uses for one Streamable HTTP server: a reply body (JSON, or the SSE
 * stream that answers one request) is counted as it streams, and one over `limit` bytes fails with
 * MW_INTEROP_REPLY_TOO_BIG instead of being buffered whole. The standing GET stream of a 2025-era
 * server is not counted: it carries notifications for as long as the connection lives. With a
 * credential, what the server answers is handed on with it redacted, as every HTTP transport does:
 * a whole answer (an error page, a JSON-RPC reply) read first, bounded; a stream event by event.
 */
export function cappedFetch(
  limit: number,
  where: { who: string; url: string },
  credential?: Credential,
): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
    const streamed = (response.headers.get('content-type') ?? '').includes('text/event-stream');
    // The SDK quotes the reason phrase and the content type in its errors: both without the key.
    const headers = new Headers();
    for (const [name, value] of response.headers) headers.append(name, withoutSecret(value, credential));
    const meta = {
      status: response.status,
      statusText: withoutSecret(response.statusText, credential),
      headers,
    };
    if (credential !== undefined && response.body !== null && !streamed) {
      const text = await readBody(response, limit, where);
      if (isMeshwardenError(text)) throw text;
      return new Response(withoutSecret(text, credential), meta);
    }
    if (response.body === null) return response;
    let body: ReadableStream<Uint8Array> = response.body;
    if (method.toUpperCase() !== 'GET') {
      let seen = 0;
      body = body.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, controller) {
            seen += chunk.byteLength;
            if (seen > limit) controller.error(interopError('MW_INTEROP_REPLY_TOO_BIG', { ...where, limit }));
            else controller.enqueue(chunk);
          },
        }),
      );
    }
    if (credential !== undefined)
      body = body
        .pipeThrough(new TextDecoderStream())
        .pipeThrough(redactingEvents(credential))
        .pipeThrough(new TextEncoderStream());
    return new Response(body, meta);
  };
}

/**
 * An SSE stream with the credential redacted from each event. Events are redacted whole (a secret
 * never spans two), so text is held until the blank line that ends its event; only what came since
 * the last look is searched for one.
 */
function redactingEvents(credential: Credential): TransformStream<string, string> {
  let held = '';
  return new TransformStream<string, string>({
    transform(chunk, controller) {
      // A blank line may straddle chunks: look again from 3 characters before the new text.
      const from = Math.max(0, held.length - 3);
      held += chunk;
      // An event ends at a blank line, whichever line ending the server writes.
      let end = -1;
      const blank = /\r\n\r\n|\n\n|\r\r/g;
      blank.lastIndex = from;
      for (let m = blank.exec(held); m !== null; m = blank.exec(held)) end = m.index + m[0].length;
      if (end < 0) return;
      controller.enqueue(withoutSecret(held.slice(0, end), credential));
      held = held.slice(end);
    },
    flush(controller) {
      if (held !== '') controller.enqueue(withoutSecret(held, credential));
    },
  });
}
