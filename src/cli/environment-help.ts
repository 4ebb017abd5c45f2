import { LOG_LEVELS } from './log.js';

/**
 * What `up --help` and `run --help` say of the environment they read, after the options: the
 * variables are not options, so a user who starts from `--help` would not learn of them otherwise.
 */
export function environmentHelp(command: 'up' | 'run'): string {
  const lines = [
    '',
    'Environment:',
    `  MESHWARDEN_LOG               log level of the JSON lines on stderr (default warn): ${LOG_LEVELS.join(', ')}`,
    '  OTEL_EXPORTER_OTLP_ENDPOINT  turns OpenTelemetry export on (traces and metrics over OTLP/HTTP); OTEL_SERVICE_NAME,',
    '                               OTEL_TRACES_SAMPLER, OTEL_BSP_* and the other OTEL_* settings: docs/telemetry.md',
  ];
  if (command === 'up')
    lines.push(
      '  MESHWARDEN_METRICS_TOKEN     serves GET /metrics (Prometheus text) to this bearer token, 16 characters or more',
      '',
      'Health: GET /api/v1/health (no token) answers once the mesh is open; docs/api.md lists every call.',
    );
  return `${lines.join('\n')}\n`;
}
