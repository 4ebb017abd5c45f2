import { describe, expect, it } from 'vitest';
import { telemetryConfig } from './config.js';
import { createTelemetry, withUnitSuffixes } from './telemetry.js';
import { startOtlpReceiver } from './test-kit.js';

// What an operator watches besides the gate: the API's requests, the mesh's and the ledger's gauges,
// the process's health, and the Prometheus names they carry.
describe('operations metrics', () => {
  const on = () => {
    const config = telemetryConfig({}, { prometheus: true });
    if (config === undefined || config instanceof Error) throw new Error('no config');
    return createTelemetry({ config, version: '0.1.0' });
  };
  const garbage: unknown[] = [];

  it("times the API's requests by method, route template and status; an unknown method is _OTHER, a request given up marked", async () => {
    await using telemetry = on();
    const served = { route: undefined, aborted: false };
    telemetry.request({ ...served, method: 'GET', route: '/api/v1/holds/:id', status: 200, durationMs: 12 });
    telemetry.request({ ...served, method: 'GET', route: '/api/v1/holds/:id', status: 200, durationMs: 30 });
    telemetry.request({ ...served, method: 'BREW', status: 404, durationMs: 1 });
    // A caller that went away before any status was sent.
    telemetry.request({
      ...served,
      method: 'GET',
      route: '/api/v1/events',
      status: undefined,
      durationMs: 9,
      aborted: true,
    });
    const text = (await telemetry.scrape())!;
    expect(text).toContain('# TYPE http_server_request_duration_seconds histogram');
    expect(text).toContain(
      'http_server_request_duration_seconds_count{http_request_method="GET",http_response_status_code="200",http_route="/api/v1/holds/:id"} 2',
    );
    const sum = /^http_server_request_duration_seconds_sum\{http_request_method="GET",[^}]*\} (\S+)$/m.exec(
      text,
    );
    expect(Number(sum?.[1])).toBeCloseTo(0.042, 6);
    expect(text).toContain(
      'http_server_request_duration_seconds_count{http_request_method="_OTHER",http_response_status_code="404"} 1',
    );
    expect(text).toContain(
      'http_server_request_duration_seconds_count{http_request_method="GET",http_route="/api/v1/events",error_type="aborted"} 1',
    );
  });

  it("reports the oldest hold's age, the ledger's entries, and the last verify's outcome and time", async () => {
    await using telemetry = on();
    telemetry.observe({
      holdsPending: () => 2,
      oldestHoldAge: () => 42.5,
      breakersOpen: () => 0,
      deadLetters: () => 0,
      ledgerEntries: () => 1234,
    });
    const before = (await telemetry.scrape())!;
    expect(before).toContain('meshwarden_holds_oldest_age_seconds 42.5');
    expect(before).toContain('meshwarden_ledger_entries 1234');
    // No verify yet: no value, rather than a made-up one.
    expect(before).not.toMatch(/^meshwarden_ledger_verify_intact /m);
    telemetry.ledgerVerified(false, 1_700_000_000_000);
    const after = (await telemetry.scrape())!;
    expect(after).toContain('meshwarden_ledger_verify_intact 0');
    expect(after).toContain('meshwarden_ledger_verify_time_seconds 1700000000');
  });

  it('renames a family in seconds or bytes as Prometheus expects, a counter with _total last', () => {
    const text = [
      '# HELP a_b x',
      '# UNIT a_b s',
      '# TYPE a_b histogram',
      'a_b_count{k="v"} 1',
      'a_b_sum 2',
      'a_bc 3',
      '# UNIT c_total s',
      '# TYPE c_total counter',
      'c_total{mode="user"} 4',
      '# UNIT rss By',
      '# TYPE rss gauge',
      'rss 5',
      '# UNIT n_total {span}',
      'n_total 6',
    ].join('\n');
    expect(withUnitSuffixes(text).split('\n')).toEqual([
      '# HELP a_b_seconds x',
      '# UNIT a_b_seconds seconds',
      '# TYPE a_b_seconds histogram',
      'a_b_seconds_count{k="v"} 1',
      'a_b_seconds_sum 2',
      'a_bc 3',
      '# UNIT c_seconds_total seconds',
      '# TYPE c_seconds_total counter',
      'c_seconds_total{mode="user"} 4',
      '# UNIT rss_bytes bytes',
      '# TYPE rss_bytes gauge',
      'rss_bytes 5',
      '# UNIT n_total {span}',
      'n_total 6',
    ]);
  });

  it("reports the process's health beside the mesh's: CPU, memory, uptime, event loop, GC, heap", async () => {
    await using telemetry = on();
    // The event-loop delay is there once sampled 5 times since the last collection (every 10 ms),
    // the GC pauses after one.
    const families = new Set<string>();
    const late = ['v8js_gc_duration_seconds histogram', 'nodejs_eventloop_delay_p99_seconds gauge'];
    let text = '';
    for (let tries = 0; tries < 100 && !late.every((f) => families.has(f)); tries++) {
      garbage.push(Array.from({ length: 10_000 }, (_, i) => ({ i })));
      if (garbage.length > 20) garbage.length = 0;
      await new Promise((resolve) => setTimeout(resolve, 100));
      text = (await telemetry.scrape())!;
      for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) families.add(`${m[1]} ${m[2]}`);
    }
    for (const family of [
      'process_cpu_time_seconds_total counter',
      'process_memory_usage_bytes gauge',
      'process_uptime_seconds gauge',
      'nodejs_eventloop_utilization gauge',
      'nodejs_eventloop_delay_p99_seconds gauge',
      'v8js_memory_heap_used_bytes gauge',
      'v8js_gc_duration_seconds histogram',
      'v8js_memory_heap_limit_bytes gauge',
      'process_open_fds gauge',
    ])
      expect(families).toContain(family);
    const cpu = Number(/^process_cpu_time_seconds_total\{cpu_mode="user"\} (\S+)$/m.exec(text)?.[1]);
    expect(cpu).toBeGreaterThan(0);
    const rss = Number(/^process_memory_usage_bytes (\S+)$/m.exec(text)?.[1]);
    expect(rss).toBeGreaterThan(1_000_000);
  });

  it("gives a scrape and an OTLP export each their own event-loop window: one's collection does not empty the other's", async () => {
    const receiver = await startOtlpReceiver();
    const config = telemetryConfig(
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/json',
        OTEL_TRACES_EXPORTER: 'none',
        OTEL_METRIC_EXPORT_INTERVAL: '100',
      },
      { prometheus: true },
    );
    if (config === undefined || config instanceof Error) throw new Error('no config');
    const telemetry = createTelemetry({ config, version: '0.1.0' });
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const exports = () => receiver.requests.filter((r) => r.path === '/v1/metrics').length;
    try {
      let text = '';
      for (let tries = 0; tries < 100 && !/^nodejs_eventloop_delay_max_seconds /m.test(text); tries++) {
        await sleep(60);
        text = (await telemetry.scrape())!;
      }
      // A window's first sample comes one tick (10 ms) after it starts: the stall comes later.
      await sleep(60);
      const before = exports();
      const stalled = performance.now() + 400;
      while (performance.now() < stalled);
      // Two OTLP collections after the stall, the second well past 5 samples after the first: a
      // window shared with the scrape would now hold only the samples since then.
      for (let tries = 0; tries < 100 && exports() < before + 2; tries++) await sleep(50);
      expect(exports()).toBeGreaterThanOrEqual(before + 2);
      await sleep(100);
      text = (await telemetry.scrape())!;
      const scraped = Number(/^nodejs_eventloop_delay_max_seconds (\S+)$/m.exec(text)?.[1]);
      expect(scraped).toBeGreaterThanOrEqual(0.3);
    } finally {
      await telemetry.close();
      await receiver.close();
    }
  });
});
