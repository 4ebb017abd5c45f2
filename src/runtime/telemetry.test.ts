import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openMesh } from './open.js';
import { type DecisionReport, type MeshGauges, type MeshTelemetry, noTelemetry } from './telemetry.js';
import { log, writeMesh } from './test-kit.js';

/** A port that writes down what the runtime tells it; `on` as given. */
function recording(on: boolean) {
  const calls: { method: string; args: unknown[] }[] = [];
  const gauges: MeshGauges[] = [];
  let unobserved = 0;
  const note =
    (method: string) =>
    (...args: unknown[]) => {
      calls.push({ method, args });
    };
  const port: MeshTelemetry = {
    on,
    decision: note('decision'),
    delivery: note('delivery'),
    deliveryFailed: note('deliveryFailed'),
    ledgerCommit: note('ledgerCommit'),
    alert: note('alert'),
    observe(g) {
      gauges.push(g);
      return () => {
        unobserved++;
      };
    },
  };
  return { port, calls, gauges, unobserved: () => unobserved };
}

/** The flaky two-agent mesh (test-kit.ts): one message, a failed try, a dead letter. */
async function runOnce(telemetry: MeshTelemetry) {
  const dir = writeMesh(1);
  const opened = await openMesh({
    meshFile: join(dir, 'mesh.yaml'),
    dataDir: join(dir, 'data'),
    log,
    retry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 2 },
    telemetry,
  });
  if (!opened.ok) throw new Error(JSON.stringify(opened));
  const o = opened.opened;
  await o.mesh.inject('api', { type: 'job.queued.v1', subject: 'job:1', data: { n: 1 } });
  await o.mesh.idle();
  return o;
}

describe('the telemetry port', () => {
  it('does nothing by default: every method a no-op, `on` false', () => {
    expect(noTelemetry.on).toBe(false);
    expect(Object.isFrozen(noTelemetry)).toBe(true);
    expect(noTelemetry.decision({} as DecisionReport)).toBeUndefined();
    expect(noTelemetry.delivery('a@1', 1, true)).toBeUndefined();
    expect(noTelemetry.deliveryFailed('a@1')).toBeUndefined();
    expect(noTelemetry.ledgerCommit(1, 1)).toBeUndefined();
    expect(noTelemetry.alert('r', 'slack', 'sent')).toBeUndefined();
    expect(
      noTelemetry.observe({
        holdsPending: () => 0,
        oldestHoldAge: () => 0,
        breakersOpen: () => 0,
        deadLetters: () => 0,
        ledgerEntries: () => 0,
      })(),
    ).toBeUndefined();
  });

  it('off, the runtime tells it nothing on the hot path (only its gauges, read never)', async () => {
    const off = recording(false);
    const o = await runOnce(off.port);
    await o.close();
    expect(off.calls).toEqual([]);
    expect(off.gauges).toHaveLength(1);
    expect(off.unobserved()).toBe(1);
  });

  it('on, it hears each decision timed, each delivery, each failed try and each append', async () => {
    const on = recording(true);
    const o = await runOnce(on.port);
    const gauges = on.gauges[0]!;
    expect(gauges.deadLetters()).toBe(o.mesh.counts().deadLetters);
    expect(gauges.holdsPending()).toBe(0);
    expect(gauges.breakersOpen()).toBe(0);
    const digest = o.mesh.policy.digest;
    await o.close();
    const of = (method: string) => on.calls.filter((c) => c.method === method).map((c) => c.args);
    const decisions = of('decision').map(([d]) => d as DecisionReport);
    // job.queued.v1, job.done.v1 and notify.send: each decided once, timed, under its envelope's id.
    expect(decisions.map((d) => d.envelope?.type).sort()).toEqual([
      'job.done.v1',
      'job.queued.v1',
      'notify.send',
    ]);
    for (const d of decisions) {
      expect(d.msgId).toBe(d.envelope?.id);
      expect(d.policyDigest).toBe(digest);
      expect(d.durationMs).toBeGreaterThanOrEqual(0);
    }
    // flaky's first try throws (one failed try, then delivered); notify.send has no executor: a dead letter.
    expect(of('deliveryFailed')).toEqual([['flaky@1.0.0']]);
    const deliveries = of('delivery').map(([agent, , ok]) => [agent, ok]);
    expect(deliveries).toEqual(
      expect.arrayContaining([
        ['flaky@1.0.0', true],
        ['sink@1.0.0', true],
      ]),
    );
    expect(of('ledgerCommit').length).toBeGreaterThan(0);
    expect(of('ledgerCommit').every(([ms, n]) => (ms as number) >= 0 && (n as number) >= 1)).toBe(true);
    expect(on.unobserved()).toBe(1);
  });
});
