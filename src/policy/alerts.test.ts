import { describe, expect, it } from 'vitest';
import type { PolicyLoadResult } from './issues.js';
import { BASE, compileLines, policyOf } from './test-kit.js';

function issuesOf(result: PolicyLoadResult): [string, number, number][] {
  return result.ok ? [] : result.issues.map((i) => [i.code, i.line, i.col]);
}

/** Line 9 onwards: `alerts:` with two sinks, then the case's lines. */
const SINKS = [
  'alerts:',
  '  sinks:',
  '    oncall: { type: pagerduty, routingKey: { env: PD_KEY } }',
  '    hook: { type: webhook, url: "https://siem.example.com/in", secret: { env: HOOK_SECRET } }',
  '  routes:',
];

type Case = [name: string, route: string, code: string, needle: string];

describe('alerts: in mesh.yaml', () => {
  it('compiles sinks and routes with their defaults', () => {
    const policy = policyOf([
      ...BASE,
      ...SINKS,
      '    - { id: freezes, on: [breaker.opened, breaker.closed], sink: oncall, severity: critical }',
      '    - { id: holds, on: [hold.created], sink: hook, rate: 20/min, dedupe: 1m }',
    ]);
    const alerts = policy.alerts!;
    expect(alerts.queue).toBe(1000);
    expect(alerts.sinks.get('oncall')).toMatchObject({
      type: 'pagerduty',
      routingKey: { env: 'PD_KEY' },
      retries: 8,
    });
    expect(alerts.routes[0]).toMatchObject({ id: 'freezes', severity: 'critical', dedupeMs: 600_000 });
    expect(alerts.routes[1]).toMatchObject({
      rate: { intervalMs: 3000, burst: 20 },
      dedupeMs: 60_000,
      severity: 'warning',
    });
  });

  it('refuses two routes of one id, saying route ids are their own (a route may share a rule’s id)', () => {
    const result = compileLines([
      ...BASE,
      ...SINKS,
      '    - { id: r, on: [hold.created], sink: hook }',
      '    - { id: r, on: [breaker.opened], sink: oncall }',
    ]);
    expect(issuesOf(result).map(([code]) => code)).toEqual(['MW_POLICY_DUPLICATE_ID']);
    expect(result.ok ? '' : result.issues[0]!.message).toContain(
      'alert route ids must be unique among routes',
    );
  });

  it('a mesh without alerts: has none', () => {
    expect(policyOf(BASE).alerts).toBeUndefined();
  });

  it.each<Case>([
    [
      'unknown sink',
      '    - { id: r, on: [breaker.opened], sink: pager }',
      'MW_POLICY_UNKNOWN_REFERENCE',
      'pager',
    ],
    [
      'unknown event',
      '    - { id: r, on: [breaker.tripped], sink: oncall }',
      'MW_POLICY_BAD_VALUE',
      'breaker.tripped',
    ],
    ['bad rate', '    - { id: r, on: [hold.created], sink: hook, rate: lots }', 'MW_POLICY_BAD_RATE', 'lots'],
    [
      'bad duration',
      '    - { id: r, on: [hold.created], sink: hook, dedupe: 10 minutes }',
      'MW_POLICY_BAD_DURATION',
      '10 minutes',
    ],
    [
      'bad severity',
      '    - { id: r, on: [hold.created], sink: hook, severity: loud }',
      'MW_POLICY_BAD_VALUE',
      'loud',
    ],
    [
      'unknown key',
      '    - { id: r, on: [hold.created], sink: hook, sevrity: info }',
      'MW_POLICY_UNKNOWN_KEY',
      'sevrity',
    ],
  ])('%s is reported at file:line:col', (_, route, code, needle) => {
    const lines = [...BASE, ...SINKS, route];
    const result = compileLines(lines);
    expect(issuesOf(result)).toEqual([[code, lines.length, route.indexOf(needle) + 1]]);
  });

  it.each([
    [
      'a secret written in the file',
      '    s: { type: pagerduty, routingKey: abc123 }',
      'MW_POLICY_TYPE',
      'abc123',
    ],
    ['a sink without what it needs', '    s: { type: slack }', 'MW_POLICY_MISSING_KEY', 's:'],
    [
      'a url that is not http(s)',
      '    s: { type: webhook, url: "ftp://x.example.com" }',
      'MW_POLICY_BAD_VALUE',
      '"ftp',
    ],
    [
      'a literal Slack URL',
      '    s: { type: slack, url: "https://hooks.slack.com/services/T0/B0/x" }',
      'MW_POLICY_BAD_VALUE',
      '"https',
    ],
    [
      'a URL with user:password@',
      '    s: { type: webhook, url: "https://u:pw@x.example.com/in" }',
      'MW_POLICY_BAD_VALUE',
      '"https',
    ],
    [
      'a URL with a query string',
      '    s: { type: webhook, url: "https://x.example.com/in?token=abc" }',
      'MW_POLICY_BAD_VALUE',
      '"https',
    ],
    [
      'an unknown sink type',
      '    s: { type: email, url: "https://x.example.com" }',
      'MW_POLICY_BAD_VALUE',
      'email',
    ],
  ])('%s is reported where it is written', (_, sink, code, needle) => {
    const lines = [...BASE, 'alerts:', '  sinks:', sink];
    const result = compileLines(lines);
    expect(issuesOf(result)).toEqual([[code, lines.length, sink.indexOf(needle) + 1]]);
  });
});
