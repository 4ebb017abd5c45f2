import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ENTRY, type Envelope, feedFile, openMesh } from '../src/runtime/index.js';
import { createTelemetry, type Telemetry, telemetryConfig } from '../src/telemetry/index.js';
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from '../src/telemetry/test-kit.js';

const EXAMPLE = new URL('../examples/retention/', import.meta.url).pathname;

/** The retention example in-process, its decisions exported over OTLP/HTTP to `receiver`. */
async function runRetention(receiver: OtlpReceiver, protocol: string) {
  const dir = mkdtempSync(join(tmpdir(), 'meshwarden-telemetry-'));
  cpSync(EXAMPLE, dir, { recursive: true });
  const config = telemetryConfig({
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
    OTEL_SERVICE_NAME: 'retention-test',
    OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=test,team=growth%20squad',
  });
  if (config === undefined || config instanceof Error) throw new Error(String(config));
  const telemetry: Telemetry = createTelemetry({ config, version: '0.1.0' });
  const opened = await openMesh({
    meshFile: join(dir, 'mesh.yaml'),
    dataDir: join(dir, 'data'),
    log: pino({ level: 'silent' }),
    telemetry,
  });
  if (!opened.ok) throw new Error(JSON.stringify(opened));
  const o = opened.opened;
  await feedFile(o.mesh, join(dir, 'tickets.jsonl'), () => {}, new AbortController().signal);
  await o.mesh.idle();
  const entries = await Array.fromAsync(o.ledger.scan());
  const digest = o.mesh.policy.digest;
  await o.close();
  await telemetry.close();
  return { entries, digest };
}

describe('decision spans over OTLP/HTTP', () => {
  let receiver: OtlpReceiver | undefined;
  afterEach(async () => {
    await receiver?.close();
    receiver = undefined;
  });

  it.each(['http/protobuf', 'http/json'])(
    'a retention case is one trace with the right parents (%s)',
    async (protocol) => {
      receiver = await startOtlpReceiver();
      const { entries, digest } = await runRetention(receiver, protocol);
      const traces = receiver.requests.filter((r) => r.path === '/v1/traces');
      expect(traces.length).toBeGreaterThan(0);
      expect(traces[0]!.contentType).toContain(
        protocol === 'http/json' ? 'application/json' : 'application/x-protobuf',
      );

      // Every decision the ledger holds on an envelope is one span, under the id its traceparent names.
      const decided = entries
        .filter((e) => e.kind === ENTRY.decision)
        .map((e) => (e.data as { envelope?: Envelope }).envelope)
        .filter((e): e is Envelope => e !== undefined);
      // Every decision is one span; one on input that never became an envelope (refused before the
      // gate, or failing the envelope's shape) is a root of its own, without a subject.
      expect(receiver.spans.length).toBe(entries.filter((e) => e.kind === ENTRY.decision).length);
      const spans = receiver.spans.filter((s) => s.attributes['meshwarden.subject'] !== undefined);
      const byId = new Map<string, ReceivedSpan>(spans.map((s) => [s.spanId, s]));
      expect(spans.length).toBe(decided.length);
      const shapeless = receiver.spans.filter((s) => s.attributes['meshwarden.subject'] === undefined);
      expect(shapeless.length).toBeGreaterThan(0);
      for (const s of shapeless) {
        expect(s.parentSpanId).toBe('');
        expect(s.name).toBe('refuse message');
        // Its trace is made of the decision's id, as `why` takes it.
        expect(s.traceId).toBe(String(s.attributes['messaging.message.id']).replaceAll('-', ''));
        expect(['envelope', 'ingress']).toContain(s.attributes['meshwarden.stage']);
      }
      for (const envelope of decided) {
        const span = byId.get(envelope.traceparent!.slice(36, 52));
        expect(span, envelope.id).toBeDefined();
        expect(span!.traceId).toBe(envelope.traceparent!.slice(3, 35));
        expect(span!.attributes['messaging.message.id']).toBe(envelope.id);
        if (envelope.hop === 0) expect(span!.parentSpanId).toBe('');
        else {
          // The parent is the decision on the message that caused it, in the same trace.
          const parent = byId.get(span!.parentSpanId);
          expect(parent?.attributes['messaging.message.id']).toBe(envelope.causationid);
          if (parent?.traceId !== span!.traceId)
            console.log(JSON.stringify({ envelope, parent: parent?.attributes }));
          expect(parent?.traceId).toBe(span!.traceId);
        }
      }

      // One case, one trace: account 8841's ticket and everything it caused.
      const root = decided.find((e) => e.subject === 'account:8841' && e.hop === 0)!;
      const caseSpans = spans.filter(
        (s) => s.attributes['messaging.message.conversation_id'] === root.correlationid,
      );
      expect(caseSpans.length).toBeGreaterThanOrEqual(4);
      expect(new Set(caseSpans.map((s) => s.traceId)).size).toBe(1);
      expect(spans.filter((s) => s.traceId === caseSpans[0]!.traceId).length).toBe(caseSpans.length);
      const hops = new Set(caseSpans.map((s) => s.attributes['meshwarden.hop']));
      expect(hops.has(0) && hops.has(1) && hops.has(2) && hops.has(3)).toBe(true);

      // Attributes: Meshwarden's own and the semantic conventions.
      const churn = caseSpans.find((s) => s.attributes['meshwarden.agent'] === 'churn')!;
      expect(churn.attributes).toMatchObject({
        'meshwarden.verdict': 'deliver',
        'meshwarden.stage': 'gate',
        'meshwarden.subject': 'account:8841',
        'meshwarden.agent.version': '2.0.1',
        'meshwarden.policy.digest': digest,
        'messaging.system': 'meshwarden',
        'messaging.operation.type': 'process',
        'messaging.destination.name': 'churn.assessed.v1',
        'gen_ai.agent.name': 'churn',
      });
      expect(churn.resource).toMatchObject({
        'service.name': 'retention-test',
        'deployment.environment.name': 'test',
        team: 'growth squad',
        // Each warden process is an instance of its own (a backend must not merge two).
        'service.instance.id': expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-/),
      });

      // The loop guard's stop on 8841 (a breaker freeze or a hold): a stop has an event; deny and
      // quarantine an error status.
      const stops = spans.filter((s) => s.attributes['meshwarden.verdict'] !== 'deliver');
      expect(stops.length).toBeGreaterThan(0);
      for (const s of stops) {
        const verdict = s.attributes['meshwarden.verdict'] as string;
        expect(s.events).toContain(`meshwarden.${verdict}`);
        expect(s.statusCode).toBe(verdict === 'deny' || verdict === 'quarantine' ? 2 : 0);
        expect(
          typeof s.attributes['meshwarden.rule'] === 'string' ||
            s.attributes['meshwarden.stage'] === 'envelope',
        ).toBe(true);
      }
    },
  );

  it('run (export at exit only) pushes the state gauges: holds pending, breakers open, dead letters', async () => {
    receiver = await startOtlpReceiver();
    await runRetention(receiver, 'http/json');
    const names = new Set(receiver.metrics.map((m) => m.name));
    for (const name of ['meshwarden.holds.pending', 'meshwarden.breakers.open', 'meshwarden.dead_letters'])
      expect(names, name).toContain(name);
    // The retention example's loop guard holds 8841's case: the last export says so.
    const holds = receiver.metrics.filter((m) => m.name === 'meshwarden.holds.pending').at(-1);
    expect(holds?.value).toBeGreaterThan(0);
  });

  it('labels a sender the policy does not know as agent="unknown"; gen_ai.agent.name only on agents', async () => {
    receiver = await startOtlpReceiver();
    const dir = mkdtempSync(join(tmpdir(), 'meshwarden-telemetry-'));
    cpSync(EXAMPLE, dir, { recursive: true });
    const config = telemetryConfig(
      {
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces`,
        OTEL_METRICS_EXPORTER: 'prometheus',
      },
      { prometheus: true },
    );
    if (config === undefined || config instanceof Error) throw new Error(String(config));
    const telemetry = createTelemetry({ config, version: '0.1.0' });
    const opened = await openMesh({
      meshFile: join(dir, 'mesh.yaml'),
      dataDir: join(dir, 'data'),
      log: pino({ level: 'silent' }),
      telemetry,
    });
    if (!opened.ok) throw new Error(JSON.stringify(opened));
    const o = opened.opened;
    const ticket = { type: 'ticket.opened.v1', subject: 'account:4242', data: { text: 'Hello' } };
    const fax = await o.mesh.inject('fax', ticket);
    await o.mesh.inject('inbox', { ...ticket, subject: 'account:4243' });
    await o.mesh.idle();
    const text = (await telemetry.scrape())!;
    await o.close();
    await telemetry.close();
    const agents = new Set(
      [...text.matchAll(/^meshwarden_gate_decisions_total\{[^}]*agent="([^"]*)"/gm)].map((m) => m[1]),
    );
    expect(agents.has('fax')).toBe(false);
    expect(agents.has('unknown')).toBe(true);
    expect(agents.has('inbox')).toBe(true);
    const faxSpan = receiver.spans.find((sp) => sp.attributes['messaging.message.id'] === fax.msgId)!;
    expect(faxSpan.attributes['meshwarden.agent']).toBe('fax');
    expect(faxSpan.attributes).not.toHaveProperty('gen_ai.agent.name');
    const byIngress = receiver.spans.filter((sp) => sp.attributes['meshwarden.agent'] === 'inbox');
    expect(byIngress.length).toBeGreaterThan(0);
    for (const sp of byIngress) expect(sp.attributes).not.toHaveProperty('gen_ai.agent.name');
    const byAgent = receiver.spans.filter((sp) => sp.attributes['meshwarden.agent'] === 'sentiment');
    expect(byAgent.length).toBeGreaterThan(0);
    for (const sp of byAgent) expect(sp.attributes['gen_ai.agent.name']).toBe('sentiment');
  });
});
