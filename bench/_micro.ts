import { caseTraceparent } from '../dist/envelope/index.js';
import { createTelemetry, telemetryConfig } from '../dist/telemetry/index.js';

const ROOT = '01a23cd8-27b5-714f-acc6-291cff3c1fa4';
const mk = (env: Record<string, string>) => {
  const c = telemetryConfig(env) as any;
  return createTelemetry({ config: c, version: 'x' });
};
const envl = (i: number) => {
  const id = `01a23cd8-27b5-714f-acc6-${String(i).padStart(12, '0')}`;
  return {
    specversion: '1.0',
    id,
    source: 'mesh://m/churn@2.0.1',
    type: 'churn.assessed.v1',
    time: 't',
    subject: 'account:1',
    data: {},
    correlationid: ROOT,
    hop: 1,
    causationid: ROOT,
    agentversion: '2.0.1',
    traceparent: caseTraceparent(ROOT, id),
  } as any;
};
const N = 200_000;
const envs = Array.from({ length: N }, (_, i) => envl(i));
for (const [name, env] of [
  [
    'metrics only',
    {
      OTEL_METRICS_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://127.0.0.1:9/v1/metrics',
      OTEL_METRIC_EXPORT_INTERVAL: '100000',
    },
  ],
  [
    'traces (never exported)',
    {
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:9/v1/traces',
      OTEL_BSP_MAX_QUEUE_SIZE: '1000000',
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '1000000',
      OTEL_BSP_SCHEDULE_DELAY: '1000000',
      OTEL_METRICS_EXPORTER: 'none',
    },
  ],
] as const) {
  const t = mk(env as any);
  for (let r = 0; r < 3; r++) {
    const s = performance.now();
    for (let i = 0; i < N; i++)
      t.decision({
        msgId: envs[i].id,
        gated: 'message',
        verdict: { decision: 'deliver', stage: 'gate', reason: 'gate.admitted' },
        envelope: envs[i],
        policyDigest: 'sha256:abc',
        startedAt: s,
        durationMs: 0.004,
      });
    console.log(name, (((performance.now() - s) * 1000) / N).toFixed(2), 'µs/decision');
  }
  await t.close().catch(() => {});
}
