import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { AlertMessage } from '../../runtime/index.js';
import { dedupKeyOf, pagerDutyEventOf } from './pagerduty.js';
import { postWithRetries } from './post.js';
import { slackMessageOf } from './slack.js';
import { cloudEventOf, signatureOf } from './webhook.js';

const NOW = 1_700_000_000_000;
const base: AlertMessage = {
  id: 'a1',
  at: NOW,
  mesh: 'retention',
  route: 'freezes',
  sink: 'oncall',
  severity: 'critical',
  event: 'breaker.opened',
  key: 'br|credit-burst|account:8841',
  summary: 'breaker credit-burst opened for account:8841 <freeze> & more',
  partition: 0,
  subject: 'account:8841',
  msgId: 'm1',
  link: 'http://w:7070/#/message/m1',
  suppressed: 2,
};

describe('alert payloads', () => {
  it.each<[string, AlertMessage, object]>([
    ['an opening triggers', base, { event_action: 'trigger', dedup_key: `retention|${base.key}` }],
    [
      'a closing resolves, with the same dedup_key and nothing else',
      { ...base, event: 'breaker.closed' },
      { routing_key: 'rk', event_action: 'resolve', dedup_key: `retention|${base.key}` },
    ],
  ])('PagerDuty: %s', (_, m, expected) => {
    const event = pagerDutyEventOf(m, 'rk');
    expect(event).toMatchObject(expected);
    if (m.event === 'breaker.closed') expect(event).toEqual(expected);
  });

  it('PagerDuty: the dedup_key names the mesh, and past 255 characters is a hash', () => {
    expect(dedupKeyOf({ mesh: 'a', key: 'k' })).not.toBe(dedupKeyOf({ mesh: 'b', key: 'k' }));
    const long = dedupKeyOf({ mesh: 'm', key: 'x'.repeat(300) });
    expect(long).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(dedupKeyOf({ mesh: 'm', key: 'x'.repeat(253) })).toHaveLength(255);
  });

  it('PagerDuty: custom_details carries every field an alert has', () => {
    const event = pagerDutyEventOf(
      { ...base, correlationid: 'c1', rule: 'credit-burst', detail: { a: 1 } },
      'rk',
    );
    const details = (event.payload as { custom_details: object }).custom_details;
    expect(Object.keys(details).sort()).toEqual(
      [
        'alert',
        'mesh',
        'route',
        'sink',
        'severity',
        'event',
        'key',
        'summary',
        'suppressed',
        'partition',
        'msgId',
        'correlationid',
        'rule',
        'link',
        'detail',
      ].sort(),
    );
  });

  it('Slack escapes the notification text too', () => {
    const slack = slackMessageOf({ ...base, summary: 'hi <!channel> <https://evil|click> & more' }) as {
      text: string;
    };
    expect(slack.text).not.toMatch(/[<>]/);
    expect(slack.text).toContain('&lt;!channel&gt;');
  });

  it('Slack escapes mrkdwn and links the lineage', () => {
    const slack = slackMessageOf(base) as { text: string; blocks: { text?: { text: string } }[] };
    expect(slack.blocks[0]!.text!.text).toContain('&lt;freeze&gt; &amp; more');
    expect(slack.blocks[0]!.text!.text).toContain('(2 more held back since the last alert)');
    expect(slack.blocks.at(-1)!.text!.text).toBe(`<${base.link}|Open the lineage in the Meshwarden console>`);
  });

  it('CloudEvents: no subject for an alert about no entity', () => {
    const { subject: _, ...none } = base;
    expect(cloudEventOf(none)).not.toHaveProperty('subject');
    expect(cloudEventOf(base)).toMatchObject({ specversion: '1.0', id: 'a1', subject: 'account:8841' });
  });

  it('the signature is HMAC-SHA256 over "<t>.<body>"', () => {
    const mac = createHmac('sha256', 's').update('1700000000.{}').digest('hex');
    expect(signatureOf('s', '{}', 1_700_000_000)).toBe(`t=1700000000,v1=${mac}`);
  });
});

describe('postWithRetries', () => {
  it.each<[number, number, boolean]>([
    [200, 1, true],
    [404, 1, false],
    [429, 3, false],
    [503, 3, false],
  ])('a receiver answering %i: %i tries, ok %s', async (status, tries, ok) => {
    let seen = 0;
    const server = createServer((_, res) => {
      seen++;
      res.writeHead(status).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/secret-path`;
    const opts = { sink: 's', type: 'webhook', url, timeoutMs: 1000, retries: 2, initialDelayMs: 1 };
    const result = await postWithRetries(opts, '{}', () => ({}));
    server.close();
    expect([result.ok, result.attempts, seen]).toEqual([ok, tries, tries]);
    if (!result.ok) {
      expect(result.error.code).toBe('MW_INTEROP_ALERT_SEND');
      expect(result.error.message).not.toContain('secret-path');
    }
  });
});
