// Decisions as the bench mesh makes them, for the benches that time telemetry alone
// (span-encoding.ts, telemetry-path.ts).
import { randomUUID } from 'node:crypto';
import { caseTraceparent } from '../dist/envelope/index.js';
import type { TelemetryDecision } from '../dist/telemetry/spans.js';

const agents = ['one', 'two', 'three'];

/** Decisions as the bench mesh makes them: children of a case, three agents, 1,000 subjects. */
export function decisionOf(i: number): TelemetryDecision {
  const root = randomUUID();
  const id = randomUUID();
  return {
    msgId: id,
    gated: 'message',
    verdict: { decision: 'deliver', stage: 'gate', reason: 'gate.admitted' },
    envelope: {
      specversion: '1.0',
      id,
      source: `mesh://bench/${agents[i % 3]}@1.0.0`,
      type: 'step.one.v1',
      time: '2026-01-01T00:00:00Z',
      subject: `entity:${i % 1000}`,
      data: {},
      correlationid: root,
      causationid: root,
      hop: 1,
      traceparent: caseTraceparent(root, id),
    },
    sender: 'agent',
    policyDigest: 'sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0',
    startedAt: performance.now(),
    durationMs: 0.004,
  };
}
