// The gate alone: decide() over hop-1 envelopes for many distinct entities, all 8 stages active.
import { readEnvelope } from '../dist/envelope/index.js';
import { decide } from '../dist/gate/index.js';
import { loadPolicy } from '../dist/policy/index.js';
import { createMemoryState } from '../dist/state/index.js';
import { quantile, round } from './stats.ts';

const meshFile = new URL('./mesh/mesh.yaml', import.meta.url).pathname;

export async function gateLatency(decisions: number, entities: number): Promise<Record<string, number>> {
  const loaded = await loadPolicy(meshFile);
  if (!loaded.ok) throw new Error('bench policy invalid');
  const policy = loaded.policy;
  const state = createMemoryState();
  const base = Date.parse('2026-01-01T00:00:00Z');
  const samples = new Float64Array(decisions);
  const types = ['step.two.v1', 'step.three.v1'] as const;
  for (let i = 0; i < decisions; i++) {
    const type = types[i % 2]!;
    const candidate = {
      specversion: '1.0',
      id: `0190a0b0-0000-7000-8000-${i.toString(16).padStart(12, '0')}`,
      source: type === 'step.two.v1' ? 'mesh://bench/one@1.0.0' : 'mesh://bench/two@1.0.0',
      type,
      time: '2026-01-01T00:00:00.000Z',
      subject: `entity:${i % entities}`,
      data: { value: i },
      datacontenttype: 'application/json',
      correlationid: '0190a0b0-0000-7000-8000-000000000000',
      causationid: '0190a0b0-0000-7000-8000-000000000001',
      hop: 1,
      ancestry: '0a1b2c3d4e5f',
    };
    if (!readEnvelope(candidate).ok) throw new Error('bench envelope malformed');
    const now = base + i;
    const t0 = process.hrtime.bigint();
    const decision = decide({ candidate, size: 400, kind: 'message', now, external: false }, policy, state);
    samples[i] = Number(process.hrtime.bigint() - t0) / 1_000;
    state.apply(decision.deltas);
    if (decision.verdict.decision !== 'deliver')
      throw new Error(`unexpected verdict ${decision.verdict.reason}`);
  }
  // The first tenth (at most 10,000) warms the JIT and is left out.
  const warm = samples.subarray(Math.min(10_000, decisions / 10)).sort();
  return {
    decisions,
    entities,
    p50us: round(quantile(warm, 0.5), 2),
    p99us: round(quantile(warm, 0.99), 2),
    p999us: round(quantile(warm, 0.999), 2),
    stateKeys: state.size(),
  };
}
