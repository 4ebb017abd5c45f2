// OpenTelemetry traces and metrics, and the Prometheus text for GET /metrics. The runtime never
// imports this: cli/ hands createTelemetry's result to the mesh as its MeshTelemetry port.
export {
  type Env,
  type OtlpProtocol,
  type SamplerName,
  type TelemetryConfig,
  telemetryConfig,
} from './config.js';
export { telemetryError } from './errors.js';
export type { Gauges } from './metrics.js';
export { attributesOf, placeOf, type SpanPlace, type TelemetryDecision } from './spans.js';
export {
  createTelemetry,
  PROMETHEUS_CONTENT_TYPE,
  type Telemetry,
  type TelemetryOptions,
} from './telemetry.js';
