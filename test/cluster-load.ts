// The load the cluster tests send: the retention example's messages, and tickets shaped like them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SendBody } from './cluster-kit.js';
import { REPO } from './run-cli.js';

/** The example's root messages (`examples/<name>/tickets.jsonl`) through the ingress they name. */
export function exampleMessages(example = 'retention'): SendBody[] {
  const lines = readFileSync(join(REPO, 'examples', example, 'tickets.jsonl'), 'utf8').split('\n');
  return lines.flatMap((line) => {
    try {
      const { source, type, subject, data } = JSON.parse(line);
      return [{ type, subject, data, ingress: source }];
    } catch {
      return []; // the example's deliberately broken line: not something an API client can send
    }
  });
}

/**
 * `count` tickets shaped like the retention example's, each about an account of its own
 * (`account:<first + i>`, none of them in the example's CRM, so none earns a credit).
 */
export function ticketLoad(count: number, first = 200_000): SendBody[] {
  const texts = exampleMessages()
    .map((m) => (m.data as { text?: unknown }).text)
    .filter((t): t is string => typeof t === 'string');
  return Array.from({ length: count }, (_, i) => ({
    type: 'ticket.opened.v1',
    subject: `account:${first + i}`,
    data: { text: texts[i % texts.length]! },
    ingress: 'inbox',
  }));
}
