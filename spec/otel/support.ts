/**
 * The OpenTelemetry SDK with in-memory exporters, for the otel specs: finished spans are
 * read from an InMemorySpanExporter, and metrics are collected on demand by a reader with
 * no timer of its own.
 */
import type { Attributes } from '@opentelemetry/api';
import { AggregationTemporality, MeterProvider, MetricReader, type DataPoint, type Histogram, type MetricData } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';

/** A MetricReader that only reads when asked: no export interval, so no timer. */
class OnDemandReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

/** One metric point, flattened for assertions. */
export interface Point {
  name: string;
  attributes: Attributes;
  value: number | Histogram;
}

export interface Telemetry {
  tracer: ReturnType<BasicTracerProvider['getTracer']>;
  meter: ReturnType<MeterProvider['getMeter']>;
  tracerProvider: BasicTracerProvider;
  meterProvider: MeterProvider;
  /** The spans ended so far. */
  spans(): ReadableSpan[];
  /** Collects every metric now: its points, by metric name. */
  collect(): Promise<Point[]>;
  shutdown(): Promise<void>;
}

/**
 * A tracer and a meter whose output the spec can read. `delta` collects with delta
 * temporality, which the gauge specs need: with cumulative temporality this SDK keeps
 * exporting a series' last value after the callback stopped observing it
 * (open-telemetry/opentelemetry-js#4096), which would hide what the callback observes.
 */
export function telemetry({ delta = false }: { delta?: boolean } = {}): Telemetry {
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const reader = new OnDemandReader(
    delta ? { aggregationTemporalitySelector: () => AggregationTemporality.DELTA } : {},
  );
  const meterProvider = new MeterProvider({ readers: [reader] });
  return {
    tracer: tracerProvider.getTracer('spec'),
    meter: meterProvider.getMeter('spec'),
    tracerProvider,
    meterProvider,
    spans: () => exporter.getFinishedSpans(),
    collect: async () => {
      const { resourceMetrics, errors } = await reader.collect();
      if (errors.length > 0) throw errors[0];
      return resourceMetrics.scopeMetrics.flatMap(({ metrics }) => metrics.flatMap(points));
    },
    shutdown: async () => {
      await Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()]);
    },
  };
}

function points(metric: MetricData): Point[] {
  return (metric.dataPoints as DataPoint<number | Histogram>[]).map(({ attributes, value }) => ({
    name: metric.descriptor.name,
    attributes,
    value,
  }));
}

/** The points of metric `name`. */
export const named = (all: Point[], name: string): Point[] => all.filter((point) => point.name === name);

/**
 * Everything recorded, as one string: span names, attributes, events, statuses and links,
 * and every metric point's name and attributes. A secret must not be anywhere in it.
 */
export function everythingRecorded(spans: ReadableSpan[], all: Point[]): string {
  return JSON.stringify({
    spans: spans.map(({ name, attributes, events, status, links }) => ({ name, attributes, events, status, links })),
    metrics: all.map(({ name, attributes }) => ({ name, attributes })),
  });
}
