import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OtlpReceiver, startOtlpReceiver } from '../src/telemetry/test-kit.js';
import { REPO, tempDir } from './run-cli.js';
import { call, startUp, type UpProcess, until } from './up-process.js';

const MESH = join(REPO, 'examples', 'retention', 'mesh.yaml');
const TICKETS = join(REPO, 'examples', 'retention', 'tickets.jsonl');
const METRICS_TOKEN = 'scrape-3f9c2a7d41b8e6f0';

/** The samples of one metric family in Prometheus text: labels → value. */
function samples(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ labels, value: Number(m[3]) });
  }
  return out;
}

/**
 * Prometheus's own linter, from Debian's `prometheus` package (`.ci/run` fetches it when it is
 * missing): it reads what a real Prometheus would, so the format is checked by the tool, not by us.
 */
const PROMTOOL = process.env.PROMTOOL ?? 'promtool';

function promtool(args: string[], input?: string): string {
  try {
    return execFileSync(PROMTOOL, args, { encoding: 'utf8', ...(input === undefined ? {} : { input }) });
  } catch (err) {
    const e = err as { code?: string; stdout?: string; stderr?: string; message: string };
    if (e.code === 'ENOENT') {
      throw new Error(
        `${PROMTOOL} is not installed: .ci/run fetches it (apt-get download prometheus), or set PROMTOOL`,
      );
    }
    throw new Error(`promtool ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? e.message}`);
  }
}

/** The fenced block of docs/telemetry.md that starts with `# <file>`. */
function docBlock(file: string): string {
  const doc = readFileSync(join(REPO, 'docs', 'telemetry.md'), 'utf8');
  const start = doc.indexOf(`# ${file}\n`);
  expect(start, `docs/telemetry.md shows ${file}`).toBeGreaterThan(0);
  return doc.slice(start, doc.indexOf('```', start));
}

const sum = (list: { value: number }[]) => list.reduce((n, s) => n + s.value, 0);

describe('GET /metrics on a real `up` process', () => {
  let up: UpProcess;
  let receiver: OtlpReceiver;
  let admin: string;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    up = await startUp([MESH, '--data', join(tempDir('metrics'), 'data'), '--input', TICKETS], {
      env: {
        MESHWARDEN_METRICS_TOKEN: METRICS_TOKEN,
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_METRIC_EXPORT_INTERVAL: '200',
        OTEL_BSP_SCHEDULE_DELAY: '100',
      },
    });
    admin = up.token!;
    // The retention run settles: 3316's big credit waits for approval, 8841's loop is held.
    const holds = async () =>
      (await call(up, admin, 'GET', '/holds')).body.holds as { rule: string | null; stage: string }[];
    await until(async () => (await holds()).some((h) => h.rule === 'big-credit'), 'the big-credit hold');
    await until(async () => (await holds()).some((h) => h.stage === 'loop'), 'the loop hold');
  });

  afterAll(async () => {
    if (up !== undefined) expect(await up.stop()).toBe(0);
    await receiver?.close();
  });

  const scrape = (token: string | undefined) =>
    fetch(`${up.url}/metrics`, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });

  it('asks for its own token: none, a wrong one and a pilot admin token are 401', async () => {
    for (const token of [undefined, 'scrape-wrong-token-0000', admin]) {
      const res = await scrape(token);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toContain('Bearer');
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('MW_API_UNAUTHENTICATED');
    }
  });

  it('serves the Prometheus text format, its counts those of the run', async () => {
    const res = await scrape(METRICS_TOKEN);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    const stats = (await call(up, admin, 'GET', '/stats')).body.counts as {
      messages: Record<string, number>;
      effects: Record<string, number>;
      deadLetters: number;
    };
    const decisions = samples(text, 'meshwarden_gate_decisions_total');
    const counted = (kind: string, verdict: string) =>
      sum(decisions.filter((s) => s.labels.kind === kind && s.labels.verdict === verdict));
    expect(counted('message', 'deliver')).toBe(stats.messages.admitted);
    expect(counted('message', 'deny')).toBe(stats.messages.denied);
    expect(counted('message', 'hold')).toBe(stats.messages.held);
    expect(counted('message', 'quarantine')).toBe(stats.messages.quarantined);
    expect(counted('effect', 'deliver')).toBe(stats.effects.executed + stats.effects.failed);
    expect(counted('effect', 'hold')).toBe(stats.effects.held);
    // The labels say who and why: the big credit held by its approval rule, from discount.
    expect(decisions).toContainEqual({
      labels: { verdict: 'hold', stage: 'approval', rule: 'big-credit', agent: 'discount', kind: 'effect' },
      value: 1,
    });
    const gate = samples(text, 'meshwarden_gate_duration_seconds_count');
    // Every decision the gate made was timed; input refused before it (stage ingress) was not.
    expect(sum(gate)).toBe(sum(decisions.filter((s) => s.labels.stage !== 'ingress')));
    expect(sum(decisions.filter((s) => s.labels.stage === 'ingress'))).toBeGreaterThan(0);
    const holds = (await call(up, admin, 'GET', '/holds')).body.holds as unknown[];
    expect(samples(text, 'meshwarden_holds_pending')[0]?.value).toBe(holds.length);
    expect(samples(text, 'meshwarden_holds_oldest_age_seconds')[0]?.value).toBeGreaterThan(0);
    const ledger = (await call(up, admin, 'GET', '/ledger')).body as { entries: number };
    expect(samples(text, 'meshwarden_ledger_entries')[0]?.value).toBeLessThanOrEqual(ledger.entries);
    expect(samples(text, 'meshwarden_ledger_entries')[0]?.value).toBeGreaterThan(0);
    // up's start-up verify, in the background.
    await until(
      async () => /^meshwarden_ledger_verify_intact 1$/m.test(await (await scrape(METRICS_TOKEN)).text()),
      'the start-up verify, intact',
    );
    expect(samples(text, 'meshwarden_dead_letters_total')[0]?.value).toBe(stats.deadLetters);
    expect(sum(samples(text, 'meshwarden_ledger_commit_entries_sum'))).toBeGreaterThanOrEqual(sum(decisions));
    const deliveries = samples(text, 'meshwarden_agent_delivery_duration_seconds_count');
    expect(deliveries.some((s) => s.labels.agent === 'churn@2.0.1' && s.labels.outcome === 'delivered')).toBe(
      true,
    );
  });

  it('sends the text gzipped to a scraper that asks for it (Prometheus does), plain otherwise', async () => {
    const get = (encoding: string) =>
      fetch(`${up.url}/metrics`, {
        headers: { authorization: `Bearer ${METRICS_TOKEN}`, 'accept-encoding': encoding },
      });
    const zipped = await get('gzip');
    expect(zipped.headers.get('content-encoding')).toBe('gzip');
    expect(await zipped.text()).toContain('# TYPE meshwarden_gate_decisions_total counter');
    for (const encoding of ['identity', 'gzip;q=0, identity']) {
      const plain = await get(encoding);
      expect(plain.headers.get('content-encoding')).toBeNull();
      expect(await plain.text()).toContain('# TYPE meshwarden_gate_decisions_total counter');
    }
  });

  it("times the API's requests by method, route template and status", async () => {
    // Calls made in beforeAll (GET /holds, 200) and refused ones here (401 on /metrics, 404, 405).
    await scrape(undefined);
    await fetch(`${up.url}/api/v1/no-such-route`);
    const posted = await fetch(`${up.url}/metrics`, { method: 'POST' });
    expect(posted.status).toBe(405);
    expect(posted.headers.get('allow')).toBe('GET, HEAD');
    const text = await (await scrape(METRICS_TOKEN)).text();
    const requests = samples(text, 'http_server_request_duration_seconds_count');
    const count = (labels: Record<string, string>) =>
      sum(requests.filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v)));
    expect(
      count({ http_request_method: 'GET', http_route: '/api/v1/holds', http_response_status_code: '200' }),
    ).toBeGreaterThanOrEqual(2);
    expect(
      count({ http_request_method: 'GET', http_route: '/metrics', http_response_status_code: '401' }),
    ).toBeGreaterThanOrEqual(1);
    // No route: no http_route label, so unknown paths cannot grow the series.
    const unrouted = requests.filter((s) => ['404', '405'].includes(s.labels.http_response_status_code!));
    expect(new Set(unrouted.map((s) => s.labels.http_response_status_code))).toEqual(new Set(['404', '405']));
    for (const s of unrouted) expect(s.labels.http_route).toBeUndefined();
  });

  it('counts a live-feed stream its client left, marked aborted, when it ends', async () => {
    const left = new AbortController();
    const res = await fetch(`${up.url}/api/v1/events`, {
      headers: { authorization: `Bearer ${admin}` },
      signal: left.signal,
    });
    expect(res.status).toBe(200);
    await res.body!.getReader().read();
    left.abort();
    const streams = async () =>
      samples(
        await (await scrape(METRICS_TOKEN)).text(),
        'http_server_request_duration_seconds_count',
      ).filter((s) => s.labels.http_route === '/api/v1/events' && s.labels.error_type === 'aborted');
    await until(async () => (await streams()).length > 0, 'the stream counted');
    expect((await streams())[0]!.labels).toMatchObject({
      http_request_method: 'GET',
      http_response_status_code: '200',
    });
  });

  it("passes promtool's exposition linter, and the doc's alert rules are valid and name served metrics", async () => {
    // The event-loop delay is served once sampled 5 times since the last collection (every 10 ms).
    let text = '';
    for (let tries = 0; tries < 50 && !/^nodejs_eventloop_delay_p99_seconds /m.test(text); tries++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      text = await (await scrape(METRICS_TOKEN)).text();
    }
    promtool(['check', 'metrics'], text);
    const dir = tempDir('promtool');
    const rules = join(dir, 'meshwarden.rules.yml');
    writeFileSync(rules, docBlock('meshwarden.rules.yml'));
    expect(promtool(['check', 'rules', rules])).toContain('SUCCESS');
    // Every series a rule reads is one `up` serves (or, for alerts, will once one is sent).
    const ours = /\b((?:meshwarden|http|process|nodejs|v8js)_\w+)/;
    const served = new Set([...text.matchAll(new RegExp(`^${ours.source}`, 'gm'))].map((m) => m[1]));
    served.add('meshwarden_alerts_total');
    // A cluster node's own, which test/cluster.test.ts reads from its nodes' scrapes.
    for (const name of [
      'meshwarden_partitions_owned',
      'meshwarden_partitions_unowned',
      'meshwarden_partition_takeovers_total',
    ])
      served.add(name);
    // A series name, not a label's (`http_response_status_code=~"5.."`).
    const seriesRead = new RegExp(`${ours.source}\\b(?!\\s*!?=)`, 'g');
    const read = [...docBlock('meshwarden.rules.yml').matchAll(seriesRead)].map((m) => m[1]);
    expect(read.length).toBeGreaterThan(0);
    for (const name of read) expect(served, name).toContain(name);
  });

  it('exports the same instruments over OTLP, and the spans', async () => {
    await until(
      async () => receiver.requests.some((r) => r.path === '/v1/metrics' && r.bytes > 0),
      'an OTLP metrics export',
    );
    await until(async () => receiver.spans.length > 0, 'an OTLP trace export');
    expect(receiver.requests.find((r) => r.path === '/v1/metrics')?.contentType).toBe(
      'application/x-protobuf',
    );
    expect(receiver.spans.every((s) => s.resource['service.name'] === 'meshwarden')).toBe(true);
  });

  // Last: it spends this address's allowance of calls without the token for a minute.
  it('slows guesses at its token per address, never the scraper that has it', async () => {
    const statuses: number[] = [];
    let limited: Response | undefined;
    for (let i = 0; i < 700 && limited === undefined; i++) {
      const res = await scrape(`scrape-guess-${String(i).padStart(12, '0')}`);
      statuses.push(res.status);
      if (res.status === 429) limited = res;
      else await res.body?.cancel();
    }
    expect(new Set(statuses)).toEqual(new Set([401, 429]));
    expect(((await limited!.json()) as { error: object }).error).toMatchObject({
      code: 'MW_API_RATE_LIMITED',
      limited: 'address',
    });
    expect((await scrape(METRICS_TOKEN)).status).toBe(200);
  });
});
