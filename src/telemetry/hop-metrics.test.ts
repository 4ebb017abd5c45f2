import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  type CollectionResult,
  type DataPoint,
  DataPointType,
  type HistogramMetricData,
  InMemoryMetricExporter,
  InstrumentType,
  MeterProvider,
  type MetricProducer,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createHopMetrics } from './hop-metrics.js';

/** An SDK metric reader with one temporality, collected by hand (its interval never comes). */
const handReader = (temporality: AggregationTemporality) =>
  new PeriodicExportingMetricReader({
    exporter: new InMemoryMetricExporter(temporality),
    exportIntervalMillis: 2 ** 31 - 1,
  });

/** One metric's points as a producer gives them (none when the metric is left out). */
async function pointsOf<T>(producer: MetricProducer, name: string): Promise<DataPoint<T>[]> {
  const metrics = (await producer.collect()).resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
  return (metrics.find((m) => m.descriptor.name === name)?.dataPoints ?? []) as DataPoint<T>[];
}

const BOUNDARIES = [0.000_002_5, 0.000_01, 0.001, 0.5, 10];
// Values as recorded: times and sizes, boundaries exactly, and a negative one both sides drop. (NaN is
// left out: the SDK keeps an empty point for its label set, which Meshwarden never records.)
const value = fc.oneof(
  fc.constantFrom(...BOUNDARIES, 0, -1, 1e300),
  fc.double({ min: 0, max: 20, noNaN: true }),
);

/** Each label set's point, as a reader's exporter would see it (times left out: each side reads its own clock). */
function points(result: CollectionResult, name: string) {
  const metric = result.resourceMetrics.scopeMetrics
    .flatMap((s) => s.metrics)
    .find((m) => m.descriptor.name === name) as HistogramMetricData | undefined;
  // Sums are compared apart: the SDK adds each interval's sum to the last, Meshwarden adds values
  // one by one, and floating point rounds the two orders differently.
  return (metric?.dataPoints ?? [])
    .map((p) => ({ attributes: p.attributes, value: { ...p.value, sum: undefined }, sum: p.value.sum ?? 0 }))
    .sort((a, b) => String(a.attributes.verdict).localeCompare(String(b.attributes.verdict)));
}

describe("Meshwarden's histograms, read through the SDK's MetricProducer port", () => {
  it.each([AggregationTemporality.CUMULATIVE, AggregationTemporality.DELTA])(
    'give the data points the SDK histogram gives for the same values (temporality %s)',
    async (temporality) => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(fc.constantFrom('deliver', 'hold'), value), { maxLength: 60 }),
          fc.array(fc.tuple(fc.constantFrom('deliver', 'hold'), value), { maxLength: 60 }),
          async (first, second) => {
            const resource = resourceFromAttributes({ 'service.name': 'meshwarden' });
            const scope = { name: 'meshwarden', version: '0.1.0' };
            const sdkReader = handReader(temporality);
            const provider = new MeterProvider({ resource, readers: [sdkReader] });
            const sdk = provider.getMeter('meshwarden').createHistogram('h', {
              unit: 's',
              advice: { explicitBucketBoundaries: BOUNDARIES },
            });
            const ours = createHopMetrics(resource, scope);
            const producer = ours.producer(() => temporality);
            const h = ours.histogram({ name: 'h', unit: 's', description: '', boundaries: BOUNDARIES });
            const cells = { deliver: h.cell({ verdict: 'deliver' }), hold: h.cell({ verdict: 'hold' }) };
            for (const round of [first, second]) {
              for (const [verdict, v] of round) {
                sdk.record(v, { verdict });
                ours.record(cells[verdict], v);
              }
              const got = points(await producer.collect(), 'h');
              const want = points(await sdkReader.collect(), 'h');
              expect(got.map(({ sum, ...p }) => p)).toEqual(want.map(({ sum, ...p }) => p));
              for (const [i, p] of got.entries())
                expect(Math.abs(p.sum - want[i]!.sum)).toBeLessThanOrEqual(1e-12 * Math.abs(want[i]!.sum));
            }
            await provider.shutdown();
          },
        ),
        { numRuns: 100 },
      );
    },
  );

  it('names each histogram with its unit and description, and leaves out a metric with no new point', async () => {
    const ours = createHopMetrics(resourceFromAttributes({}), { name: 'meshwarden' });
    const delta = ours.producer(() => AggregationTemporality.DELTA);
    const h = ours.histogram({
      name: 'meshwarden.gate.duration',
      unit: 's',
      description: 'Gate time.',
      boundaries: [1],
    });
    ours.record(h.cell({ verdict: 'deny' }), 0.5);
    const first = (await delta.collect()).resourceMetrics.scopeMetrics[0]!.metrics[0] as HistogramMetricData;
    expect(first.descriptor).toMatchObject({
      name: 'meshwarden.gate.duration',
      unit: 's',
      description: 'Gate time.',
    });
    expect(first.dataPoints).toHaveLength(1);
    // Nothing new: no point, and no metric (the SDK leaves an empty one out too).
    expect((await delta.collect()).resourceMetrics.scopeMetrics).toEqual([]);
  });

  it('gives a delta reader made after a cell the values recorded since the cell was made', async () => {
    const ours = createHopMetrics(resourceFromAttributes({}), { name: 'meshwarden' });
    const h = ours.histogram({ name: 'h', unit: 's', description: '', boundaries: [1] });
    const cell = h.cell();
    ours.record(cell, 0.25);
    ours.record(cell, 3);
    const late = ours.producer(() => AggregationTemporality.DELTA);
    const [p] = await pointsOf<{ count: number; sum: number; min: number; max: number }>(late, 'h');
    expect(p!.value).toMatchObject({ count: 2, sum: 3.25, min: 0.25, max: 3 });
  });

  it('counts from when a label set was first counted; a delta reader gets what is new since its last read', async () => {
    const ours = createHopMetrics(resourceFromAttributes({}), { name: 'meshwarden' });
    const cumulative = ours.producer(() => AggregationTemporality.CUMULATIVE);
    const delta = ours.producer(() => AggregationTemporality.DELTA);
    const decisions = ours.counter({
      name: 'meshwarden.gate.decisions',
      unit: '{decision}',
      description: 'Decisions.',
    });
    const cell = decisions.cell({ verdict: 'deliver' });
    cell.count += 3;
    await new Promise((r) => setTimeout(r, 5));
    const read = async (p: MetricProducer) => {
      const metric = (await p.collect()).resourceMetrics.scopeMetrics[0]?.metrics.find(
        (m) => m.descriptor.name === 'meshwarden.gate.decisions',
      );
      if (metric === undefined) return [];
      expect(metric).toMatchObject({ dataPointType: DataPointType.SUM, isMonotonic: true });
      return metric.dataPoints as DataPoint<number>[];
    };
    const nanos = ([s, ns]: readonly [number, number]) => s * 1e9 + ns;
    const [c1] = await read(cumulative);
    // Not a window of no length, as an observable counter's first point is.
    expect(nanos(c1!.endTime) - nanos(c1!.startTime)).toBeGreaterThan(1e6);
    expect(c1).toMatchObject({ attributes: { verdict: 'deliver' }, value: 3 });
    const [d1] = await read(delta);
    expect(d1!.value).toBe(3);
    cell.count += 2;
    const [d2] = await read(delta);
    expect(d2).toMatchObject({ value: 2, startTime: d1!.endTime });
    expect(await read(delta)).toEqual([]);
    const [c2] = await read(cumulative);
    expect(c2).toMatchObject({ value: 5, startTime: c1!.startTime });
  });

  it('asks the exporter per kind of instrument: a counter and a histogram may differ', async () => {
    const ours = createHopMetrics(resourceFromAttributes({}), { name: 'meshwarden' });
    const producer = ours.producer((type) =>
      type === InstrumentType.COUNTER ? AggregationTemporality.DELTA : AggregationTemporality.CUMULATIVE,
    );
    const counted = ours.counter({ name: 'c', unit: '1', description: '' }).cell();
    const timed = ours.histogram({ name: 'h', unit: 's', description: '', boundaries: [1] }).cell();
    counted.count++;
    ours.record(timed, 0.5);
    const temporalities = async () =>
      Object.fromEntries(
        (await producer.collect()).resourceMetrics.scopeMetrics
          .flatMap((s) => s.metrics)
          .map((m) => [m.descriptor.name, m.aggregationTemporality]),
      );
    expect(await temporalities()).toEqual({
      c: AggregationTemporality.DELTA,
      h: AggregationTemporality.CUMULATIVE,
    });
    // The delta counter has nothing new; the cumulative histogram still reports.
    expect(await temporalities()).toEqual({ h: AggregationTemporality.CUMULATIVE });
  });
});
