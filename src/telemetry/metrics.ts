import type { Attributes, Meter, ObservableResult } from '@opentelemetry/api';
import type { CounterCell, HistogramCell, HopMetrics } from './hop-metrics.js';

/** The mesh's live values, read at collection time (structurally the runtime's `MeshGauges`). */
export type Gauges = {
  holdsPending(): number;
  oldestHoldAge(): number;
  breakersOpen(): number;
  deadLetters(): number;
  ledgerEntries(): number;
  partitionsOwned?(): number;
  /** Partitions no live node owns, as this node's leases last listed them (a cluster node only). */
  partitionsUnowned?(): number;
  takeovers?(): { readonly routine: number; readonly lapsed: number };
};

/** Gate latency buckets, in seconds: a decision takes microseconds, a slow one a millisecond. */
const GATE_BUCKETS = [
  0.000_002_5, 0.000_005, 0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005,
  0.01,
];
/** Ledger commits and handler runs, in seconds: a batched fsync, a remote agent's round trip. */
const IO_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];
/** HTTP requests, in seconds: the semantic conventions' advice for `http.server.request.duration`. */
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
/**
 * The methods the semantic conventions name; any other is `_OTHER`, so that a caller inventing
 * methods cannot grow the series (a route template and a status are bounded already).
 */
const KNOWN_METHODS = new Set([
  'CONNECT',
  'DELETE',
  'GET',
  'HEAD',
  'OPTIONS',
  'PATCH',
  'POST',
  'PUT',
  'TRACE',
]);

/**
 * Every instrument Meshwarden records. Names follow OpenTelemetry's conventions (dotted, units in
 * UCUM); the Prometheus serializer turns `meshwarden.gate.decisions` with unit `{decision}` into
 * `meshwarden_gate_decisions_total`, and unit `s` into a `_seconds` suffix. docs/telemetry.md lists
 * each with its labels.
 */
/** A label set of the decision counter and its count. */
export type DecisionCell = CounterCell;

export type Instruments = {
  /** One decision, counted in `cell` (see `cellOf`); `seconds` the gate's time, absent when refused before the gate. */
  decision(cell: DecisionCell, seconds: number | undefined): void;
  /** The counting cell of one label set (verdict, stage, rule, agent, kind): made once, kept. */
  cellOf(attrs: Attributes): DecisionCell;
  delivery(agent: string, seconds: number, ok: boolean): void;
  deliveryFailed(agent: string): void;
  ledgerCommit(seconds: number, entries: number): void;
  /**
   * One HTTP request as it ended: its method, route template (absent: no route), status (absent: none
   * was sent), time, and whether the connection closed before the response was whole.
   */
  request(
    method: string,
    route: string | undefined,
    status: number | undefined,
    seconds: number,
    aborted: boolean,
  ): void;
  /** `reason` only for a suppressed alert: why it was held back. */
  alert(route: string, sink: string, outcome: string, reason?: string): void;
  /** A verify of the whole ledger ended: intact or not, and when (epoch ms). */
  ledgerVerified(ok: boolean, atMs: number): void;
  /** A decision span dropped: the batch processor's queue was full (OTEL_BSP_MAX_QUEUE_SIZE). */
  spansDropped(): void;
  /** Decision spans an export gave up on (the collector refused them or never answered, retries included). */
  spansFailed(spans: number): void;
  observe(gauges: Gauges): () => void;
};

/** Every instrument, declared: names, units, descriptions and bucket boundaries. */
function declare(meter: Meter, hop: HopMetrics) {
  // What every hop records is Meshwarden's own, read by the SDK (hop-metrics.ts): a decision bumps a
  // number in its label set's cell, with no attribute hashing per call.
  const decisions = hop.counter({
    name: 'meshwarden.gate.decisions',
    unit: '{decision}',
    description: 'Gate decisions, by verdict, stage, rule, agent and kind (message or effect).',
  });
  const gate = hop.histogram({
    name: 'meshwarden.gate.duration',
    unit: 's',
    description: 'Time the gate took to decide, by verdict.',
    boundaries: GATE_BUCKETS,
  });
  const commit = hop.histogram({
    name: 'meshwarden.ledger.commit.duration',
    unit: 's',
    description: 'Time from a ledger append to its entries being durable.',
    boundaries: IO_BUCKETS,
  });
  const batch = hop.histogram({
    name: 'meshwarden.ledger.commit.entries',
    unit: '{entry}',
    description: 'Entries per ledger append (an agent run’s emissions are appended as one group).',
    boundaries: BATCH_BUCKETS,
  });
  const delivery = hop.histogram({
    name: 'meshwarden.agent.delivery.duration',
    unit: 's',
    description:
      'Time to deliver one message to one agent (or effect to its executor), retries included, by outcome.',
    boundaries: IO_BUCKETS,
  });
  const failures = meter.createCounter('meshwarden.agent.delivery.failures', {
    unit: '{try}',
    description: 'Failed tries of a handler or executor (the last one of a message becomes a dead letter).',
  });
  const requests = meter.createHistogram('http.server.request.duration', {
    unit: 's',
    description:
      'HTTP requests the API answered, by method, route template and status (semantic conventions).',
    advice: { explicitBucketBoundaries: HTTP_BUCKETS },
  });
  const alerts = meter.createCounter('meshwarden.alerts', {
    unit: '{alert}',
    description:
      'Alert deliveries, by route, sink and outcome (sent, failed, suppressed; a suppressed one by its reason: duplicate, rate, overflow).',
  });
  const dropped = meter.createCounter('meshwarden.telemetry.spans.dropped', {
    unit: '{span}',
    description: 'Decision spans dropped because the export queue was full (OTEL_BSP_MAX_QUEUE_SIZE).',
  });
  const failed = meter.createCounter('meshwarden.telemetry.spans.failed', {
    unit: '{span}',
    description:
      'Decision spans an export gave up on: the collector refused them or never answered, retries included.',
  });
  const holds = meter.createObservableGauge('meshwarden.holds.pending', {
    unit: '{hold}',
    description: 'Messages held for a pilot now (approval holds, loop-guard and freeze holds).',
  });
  const oldestHold = meter.createObservableGauge('meshwarden.holds.oldest.age', {
    unit: 's',
    description: 'How long the oldest pending hold has waited for a pilot (0 with none).',
  });
  const entries = meter.createObservableGauge('meshwarden.ledger.entries', {
    unit: '{entry}',
    description: 'Ledger entries in the partitions this process writes (all of them in embedded mode).',
  });
  const intact = meter.createObservableGauge('meshwarden.ledger.verify.intact', {
    unit: '1',
    description:
      'Whether the last verify of the ledger found it intact (1) or not (0); absent before the first.',
  });
  const verifiedAt = meter.createObservableGauge('meshwarden.ledger.verify.time', {
    unit: 's',
    description:
      'When the last verify of the ledger ended, in seconds since the epoch; absent before the first.',
  });
  const breakers = meter.createObservableGauge('meshwarden.breakers.open', {
    unit: '{breaker}',
    description: 'Breaker keys open now.',
  });
  const dead = meter.createObservableCounter('meshwarden.dead_letters', {
    unit: '{message}',
    description: 'Messages and effect requests dead-lettered since the mesh started.',
  });
  const owned = meter.createObservableGauge('meshwarden.partitions.owned', {
    unit: '{partition}',
    description: 'Partitions this cluster node owns now (a cluster node only).',
  });
  const unowned = meter.createObservableGauge('meshwarden.partitions.unowned', {
    unit: '{partition}',
    description:
      'Partitions no live node holds a lease on, as this node last listed the leases (a cluster node only): 0 but while a take-over is under way.',
  });
  const takeovers = meter.createObservableCounter('meshwarden.partition.takeovers', {
    unit: '{partition}',
    description:
      'Partitions this cluster node took over since it started, by lapsed: true when from a lease that lapsed with work to rebuild (its former owner died or was cut off), false for the routine rest.',
  });
  return {
    decisions,
    gate,
    commit,
    batch,
    delivery,
    failures,
    requests,
    alerts,
    dropped,
    failed,
    holds,
    oldestHold,
    entries,
    intact,
    verifiedAt,
    breakers,
    dead,
    owned,
    unowned,
    takeovers,
  };
}

export function createInstruments(meter: Meter, hop: HopMetrics): Instruments {
  const declared = declare(meter, hop);
  const watched = new Set<Gauges>();
  const frozen = new WeakSet<Gauges>();
  /** One value over every watched mesh's: their sum, or what `combine` makes of them (from 0). */
  const across =
    (read: (g: Gauges) => number, combine = (a: number, b: number) => a + b) =>
    (result: ObservableResult) => {
      if (watched.size === 0) return;
      let n = 0;
      for (const g of watched) n = combine(n, read(g));
      result.observe(n);
    };
  // Zero from the start, so `rate()` and alert rules see the series before the first drop.
  declared.dropped.add(0);
  declared.failed.add(0);
  declared.holds.addCallback(across((g) => g.holdsPending()));
  declared.oldestHold.addCallback(across((g) => g.oldestHoldAge(), Math.max));
  declared.entries.addCallback(across((g) => g.ledgerEntries()));
  let verified: { ok: boolean; atMs: number } | undefined;
  declared.intact.addCallback((result) => {
    if (verified !== undefined) result.observe(verified.ok ? 1 : 0);
  });
  declared.verifiedAt.addCallback((result) => {
    if (verified !== undefined) result.observe(verified.atMs / 1000);
  });
  declared.breakers.addCallback(across((g) => g.breakersOpen()));
  declared.dead.addCallback(across((g) => g.deadLetters()));
  // A cluster node's only: an embedded mesh has no such series.
  declared.owned.addCallback((result) => {
    const nodes = [...watched].filter((g) => g.partitionsOwned !== undefined);
    if (nodes.length > 0) result.observe(nodes.reduce((n, g) => n + g.partitionsOwned!(), 0));
  });
  declared.unowned.addCallback((result) => {
    const seen = [...watched].flatMap((g) =>
      g.partitionsUnowned === undefined ? [] : [g.partitionsUnowned()],
    );
    if (seen.length > 0) result.observe(Math.max(...seen));
  });
  declared.takeovers.addCallback((result) => {
    const counted = [...watched].flatMap((g) => (g.takeovers === undefined ? [] : [g.takeovers()]));
    if (counted.length === 0) return;
    result.observe(
      counted.reduce((n, t) => n + t.routine, 0),
      { lapsed: 'false' },
    );
    result.observe(
      counted.reduce((n, t) => n + t.lapsed, 0),
      { lapsed: 'true' },
    );
  });

  // Histogram cells for the few label sets that repeat, made once.
  const byVerdict = new Map<string, HistogramCell>();
  const gateCell = (verdict: string): HistogramCell => {
    let c = byVerdict.get(verdict);
    if (c === undefined) {
      c = declared.gate.cell({ verdict });
      byVerdict.set(verdict, c);
    }
    return c;
  };
  const byOutcome = {
    delivered: new Map<string, HistogramCell>(),
    dead_letter: new Map<string, HistogramCell>(),
  };
  const deliveryCell = (agent: string, outcome: keyof typeof byOutcome): HistogramCell => {
    let c = byOutcome[outcome].get(agent);
    if (c === undefined) {
      c = declared.delivery.cell({ agent, outcome });
      byOutcome[outcome].set(agent, c);
    }
    return c;
  };
  const commitCell = declared.commit.cell();
  const batchCell = declared.batch.cell();

  const failedAgents = new Map<string, Attributes>();
  const failedAttrs = (agent: string): Attributes => {
    let a = failedAgents.get(agent);
    if (a === undefined) {
      a = { agent };
      failedAgents.set(agent, a);
    }
    return a;
  };

  return {
    cellOf: (attributes) => declared.decisions.cell(attributes),
    decision(cell, seconds) {
      cell.count++;
      if (seconds !== undefined) hop.record(gateCell(cell.attributes.verdict as string), seconds);
    },
    delivery(agent, seconds, ok) {
      hop.record(deliveryCell(agent, ok ? 'delivered' : 'dead_letter'), seconds);
    },
    deliveryFailed(agent) {
      declared.failures.add(1, failedAttrs(agent));
    },
    ledgerCommit(seconds, entries) {
      hop.record(commitCell, seconds);
      hop.record(batchCell, entries);
    },
    request(method, route, status, seconds, aborted) {
      const attributes: Attributes = { 'http.request.method': KNOWN_METHODS.has(method) ? method : '_OTHER' };
      if (status !== undefined) attributes['http.response.status_code'] = status;
      if (route !== undefined) attributes['http.route'] = route;
      // The semantic conventions' error.type: here only a response its caller did not wait for.
      if (aborted) attributes['error.type'] = 'aborted';
      declared.requests.record(seconds, attributes);
    },
    alert(route, sink, outcome, reason) {
      declared.alerts.add(
        1,
        reason === undefined ? { route, sink, outcome } : { route, sink, outcome, reason },
      );
    },
    ledgerVerified(ok, atMs) {
      verified = { ok, atMs };
    },
    spansDropped() {
      declared.dropped.add(1);
    },
    spansFailed(spans) {
      declared.failed.add(spans);
    },
    observe(gauges) {
      // A new mesh's live values replace a closed one's last ones.
      for (const g of watched) if (frozen.has(g)) watched.delete(g);
      watched.add(gauges);
      return () => {
        if (!watched.delete(gauges)) return;
        // The mesh closes before telemetry's last export: its last values are kept for that export,
        // so `run`, which exports only at exit, still pushes holds, breakers and dead letters.
        const still = Object.fromEntries(
          Object.entries(gauges).map(([name, read]: [string, () => unknown]) => {
            const last = read();
            return [name, () => last];
          }),
        ) as Gauges;
        frozen.add(still);
        watched.add(still);
      };
    },
  };
}
