import type { Logger } from 'pino';
import type { JsonObject } from '../envelope/index.js';
import type { LedgerRecord } from '../ledger/index.js';
import { type AlertOutcomeName, alertSentRecord, deliveryEvent } from './alert-records.js';
import type { AlertJob } from './alert-route.js';
import type { AlertMessage, SinkResult } from './alert-sink.js';
import { runtimeError } from './errors.js';
import type { MeshEvent } from './events.js';

/**
 * What becomes of each alert: an `alert.sent` entry, an `alert-delivery` event, and for a final
 * failure a `dead-letter` event. `recorded()` resolves once every entry asked for is appended (or
 * failed to be), so closing waits for them before the ledger closes.
 */
export function createAlertOutcomes(deps: {
  readonly append: (record: LedgerRecord, partition: number) => Promise<unknown>;
  readonly publish: (event: MeshEvent) => void;
  readonly clock: () => number;
  readonly log: Logger;
}) {
  const { clock, publish, log } = deps;
  const recording = new Set<Promise<unknown>>();
  const record = (m: AlertMessage, outcome: AlertOutcomeName, attempts: number, error?: JsonObject) => {
    const done = deps
      .append(alertSentRecord(clock(), m, outcome, attempts, error), m.partition)
      .catch((err: unknown) => log.error({ err, alert: m.id, route: m.route }, 'alert outcome not recorded'))
      .finally(() => recording.delete(done));
    recording.add(done);
  };

  const outcome = ({ message: m, route }: Pick<AlertJob, 'message' | 'route'>, result: SinkResult) => {
    if (result.ok) {
      record(m, 'sent', result.attempts);
      return publish(deliveryEvent(clock(), route, m.event, 'sent', result.attempts));
    }
    const { code, message } = result.error;
    // The sentence says why (an HTTP status, no answer): what on-call needs before opening the ledger.
    log.warn(
      { alert: m.id, route: m.route, sink: m.sink, code, problem: message, attempts: result.attempts },
      'alert not delivered',
    );
    record(m, 'failed', result.attempts, { code, message });
    publish(deliveryEvent(clock(), route, m.event, 'failed', result.attempts));
    const msgId = m.msgId ?? m.id;
    publish({ type: 'dead-letter', at: clock(), msgId, worker: `alert:${m.route}`, code, message });
  };
  // A sink is public API: one that throws is logged and its alert recorded as failed, never fatal.
  const threw = (job: AlertJob, err: unknown) => {
    log.error({ err, alert: job.message.id, sink: job.message.sink }, 'alert sink threw');
    const error = runtimeError('MW_RUNTIME_ALERT_SINK_THREW', { sink: job.message.sink });
    outcome(job, { ok: false, attempts: 1, error });
  };
  const recorded = async () => {
    while (recording.size > 0) await Promise.all(recording);
  };
  return { record, outcome, threw, recorded };
}
