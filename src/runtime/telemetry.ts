import type { Envelope, GatedKind } from '../envelope/index.js';
import type { Verdict } from '../gate/index.js';

/**
 * One gate decision as telemetry sees it. Times are `performance.now()` milliseconds, taken around
 * `decide` by the runtime (the gate reads no clock), and only when telemetry is on.
 */
export type DecisionReport = {
  readonly msgId: string;
  readonly gated: GatedKind;
  readonly verdict: Verdict;
  /** The envelope the gate read; absent when the candidate never became one. */
  readonly envelope: Envelope | undefined;
  /** What the envelope's source is to the policy: one of its agents, one of its ingresses, or neither. */
  readonly sender?: 'agent' | 'ingress' | 'unknown';
  readonly policyDigest: string;
  readonly startedAt: number;
  /** Absent for input refused before the gate (stage `ingress`): nothing was timed. */
  readonly durationMs?: number;
  /** A pilot released it from the loop guard or a freeze, and it was gated again. */
  readonly release?: boolean;
};

/** Live values read when metrics are collected, not on the hot path. */
export type MeshGauges = {
  holdsPending(): number;
  /** Seconds the oldest pending hold has waited for a pilot (0 with none). */
  oldestHoldAge(): number;
  breakersOpen(): number;
  deadLetters(): number;
  /** Entries in the partitions this process writes (every partition in embedded mode). */
  ledgerEntries(): number;
  /** A cluster node's: the partitions it owns now. */
  partitionsOwned?(): number;
  /** A cluster node's: partitions no live node holds a lease on, as its leases last listed them. */
  partitionsUnowned?(): number;
  /** A cluster node's: partitions it took over since it started. */
  takeovers?(): Takeovers;
};

/**
 * Take-overs: `lapsed`, those from a lease that lapsed with work to rebuild (a former owner died or
 * was cut off: the ones logged at warn); `routine`, the rest (released to it, or nothing to rebuild).
 */
export type Takeovers = { readonly routine: number; readonly lapsed: number };

/** What an alert delivery came to (alerts/ tells it; the merger wires it). */
export type AlertOutcome = 'sent' | 'failed' | 'suppressed';

/**
 * The runtime's telemetry port: telemetry/ implements it (OpenTelemetry traces and metrics), cli/
 * hands that to the mesh. The default does nothing, and the runtime asks `on` before it reads a
 * clock or builds a report, so a mesh without telemetry pays one property read per decision.
 */
export type MeshTelemetry = {
  readonly on: boolean;
  decision(report: DecisionReport): void;
  /** One handler run for one agent, retries included: how long, and whether it ended delivered. */
  delivery(agent: string, durationMs: number, ok: boolean): void;
  /** One failed try of a handler or executor (the last one becomes a dead letter). */
  deliveryFailed(agent: string): void;
  /** One ledger append, from the call to durable, and how many entries it carried. */
  ledgerCommit(durationMs: number, entries: number): void;
  /** `reason`: why a suppressed alert was held back (`duplicate`, `rate`, `overflow`). */
  alert(route: string, sink: string, outcome: AlertOutcome, reason?: 'duplicate' | 'rate' | 'overflow'): void;
  /** Registers the mesh's gauges; returns the unregister. */
  observe(gauges: MeshGauges): () => void;
};

const nothing = (): void => {};

/** Telemetry off: every method a no-op, `on` false. */
export const noTelemetry: MeshTelemetry = Object.freeze({
  on: false,
  decision: nothing,
  delivery: nothing,
  deliveryFailed: nothing,
  ledgerCommit: nothing,
  alert: nothing,
  observe: () => nothing,
});
