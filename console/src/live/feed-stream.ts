import type { ApiClient } from '../api/client.js';
import type { FeedBatch } from '../api/types.js';
import { createSseParser } from './sse-parser.js';

export type FeedState = 'connecting' | 'live' | 'reconnecting';

/**
 * Reads `GET /events` until `signal` aborts, reconnecting with backoff when the stream ends or
 * fails (a 401 stops it: the client has already sent the pilot back to sign-in).
 */
export async function followFeed(
  api: ApiClient,
  signal: AbortSignal,
  onBatch: (batch: FeedBatch) => void,
  onState: (state: FeedState) => void,
): Promise<void> {
  let delay = 500;
  while (!signal.aborted) {
    try {
      const response = await api.stream('/events', signal);
      const body = response.body;
      if (body === null) throw new Error('the feed has no body');
      onState('live');
      delay = 500;
      await readEvents(body, onBatch);
    } catch (err) {
      if (signal.aborted || (err as { status?: number }).status === 401) return;
    }
    onState('reconnecting');
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 10_000);
  }
}

async function readEvents(
  body: ReadableStream<Uint8Array>,
  onBatch: (batch: FeedBatch) => void,
): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parser = createSseParser((message) => {
    if (message.event !== 'decisions') return;
    try {
      const batch = JSON.parse(message.data) as FeedBatch;
      onBatch({
        events: Array.isArray(batch.events) ? batch.events : [],
        dropped: batch.dropped ?? 0,
        ...(batch.counts === undefined ? {} : { counts: batch.counts }),
      });
    } catch {
      // A malformed batch is skipped; the ledger, not the feed, is the record.
    }
  });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      parser.push(decoder.decode(value, { stream: true }));
    }
  } finally {
    reader.releaseLock();
  }
}
