import type { Logger } from 'pino';
import type { Envelope, GatedKind, JsonObject, JsonValue } from '../envelope/index.js';
import type { EchoLink, Verdict } from '../gate/index.js';
import type { AlertEventName } from '../policy/index.js';

/** What the mesh tells listeners (the CLI's story, later the live feed). */
export type MeshEvent =
  | {
      readonly type: 'decision';
      readonly at: number;
      readonly msgId: string;
      readonly gated: GatedKind;
      readonly verdict: Verdict;
      readonly envelope?: Envelope;
      /** The message it answers (its envelope's, or a malformed candidate's claim), if any. */
      readonly causationid?: string;
      readonly location?: string;
      readonly link?: EchoLink;
    }
  | {
      readonly type: 'delivered';
      readonly at: number;
      readonly msgId: string;
      /** The case the message belongs to (its root's id). */
      readonly correlationid: string;
      readonly agent: string;
      /** The ids of what the agent emitted or requested in answer; each gets its own `decision`. */
      readonly emitted: readonly string[];
    }
  | {
      /** A held message or effect was released: by a pilot (`pilot:<name>`) or its approval's `timeout`. */
      readonly type: 'released';
      readonly at: number;
      readonly msgId: string;
      readonly outcome: 'deliver' | 'deny';
      readonly by: string;
      /** What was released: its type and subject; the pilot's reason, when a pilot answered. */
      readonly messageType: string;
      readonly subject: string;
      readonly reason?: string;
      /** Why an approved loop or freeze hold was denied all the same: the gate's reason when gated again. */
      readonly regateReason?: string;
    }
  | {
      readonly type: 'dead-letter';
      readonly at: number;
      readonly msgId: string;
      readonly worker: string;
      readonly code: string;
      readonly message: string;
      /** The dead message's subject and case, for alerts (absent for an alert's own dead letter). */
      readonly subject?: string;
      readonly correlationid?: string;
    }
  | {
      /**
       * Something a pilot must look at now, beside the decision that raised it: an approval predicate
       * that could not be evaluated (the message is held all the same, `approval.predicate_error`).
       */
      readonly type: 'alert';
      readonly at: number;
      readonly alert: 'predicate_error';
      readonly msgId: string;
      readonly rule: string;
      /** The verdict's reason and sentence (the sentence names the predicate and its error). */
      readonly reason: string;
      readonly detail: string;
      /** The held message's subject and case, when it has an envelope. */
      readonly subject?: string;
      readonly correlationid?: string;
    }
  | {
      /**
       * Something an on-call pilot may be paged for (docs/alerts.md lists each `event`): published
       * by the node that owns the partition, once the entry that caused it is durable.
       */
      readonly type: 'alarm';
      readonly at: number;
      readonly event: AlertEventName;
      /** What the alarm is about: a breaker key (`br|<id>|<scope key>`), a held message's id, an agent. */
      readonly key: string;
      /** The chain its entry belongs in: the partition that raised it. */
      readonly partition: number;
      readonly msgId?: string;
      readonly subject?: string;
      readonly correlationid?: string;
      /** The breaker or approval rule, or the agent whose circuit opened. */
      readonly rule?: string;
      /** A sentence a pilot understands. */
      readonly summary: string;
      /** The breaker's or hold's facts, for the sinks' payloads. */
      readonly detail?: JsonObject;
    }
  | {
      /** What became of one alert (telemetry counts these): sent, given up, or held back by dedupe or rate. */
      readonly type: 'alert-delivery';
      readonly at: number;
      readonly route: string;
      readonly sink: string;
      readonly event: AlertEventName;
      readonly outcome: 'sent' | 'failed' | 'suppressed';
      readonly attempts: number;
      /** Why a suppressed one was held back: a duplicate, the route's rate, or a full queue. */
      readonly reason?: 'duplicate' | 'rate' | 'overflow';
    }
  | {
      readonly type: 'effect-executed';
      readonly at: number;
      readonly msgId: string;
      readonly effect: string;
      readonly subject: string;
      readonly result?: JsonValue;
    };

/** An alarm raised outside the runtime (a remote agent's circuit, the ledger's verifier), for `Mesh.raise`. */
export type OutsideAlarm = {
  readonly event: AlertEventName;
  readonly key: string;
  readonly summary: string;
  readonly subject?: string;
  readonly msgId?: string;
  readonly rule?: string;
  readonly detail?: JsonObject;
};

export type RunCounts = {
  messages: { admitted: number; delivered: number; denied: number; held: number; quarantined: number };
  effects: { executed: number; denied: number; held: number; quarantined: number; failed: number };
  deadLetters: number;
  /**
   * Holds settled since start: approved or rejected by a pilot (a pilot's approval that the gate,
   * asked again, refused counts as approved: the pilot answered yes), or settled by their timeout.
   */
  answered: { approved: number; rejected: number; timedOut: number };
  /** Deliveries and executions resumed from the ledger after a restart. */
  recovered: number;
  /** Approval predicates that could not be evaluated, by rule id (each held its message). */
  predicateErrors: Record<string, number>;
};

/** The alert a decision raises, if any: a predicate error is one, never a silent hold. */
export function alertOf(
  at: number,
  msgId: string,
  verdict: Verdict,
  envelope?: Envelope,
): MeshEvent | undefined {
  if (verdict.reason !== 'approval.predicate_error') return undefined;
  const { reason, rule = '', detail = '' } = verdict;
  const about =
    envelope === undefined ? {} : { subject: envelope.subject, correlationid: envelope.correlationid };
  return { type: 'alert', at, alert: 'predicate_error', msgId, rule, reason, detail, ...about };
}

export function zeroCounts(): RunCounts {
  return {
    messages: { admitted: 0, delivered: 0, denied: 0, held: 0, quarantined: 0 },
    effects: { executed: 0, denied: 0, held: 0, quarantined: 0, failed: 0 },
    deadLetters: 0,
    answered: { approved: 0, rejected: 0, timedOut: 0 },
    recovered: 0,
    predicateErrors: {},
  };
}

export function countDecision(counts: RunCounts, gated: GatedKind, verdict: Verdict): void {
  const bucket = gated === 'message' ? counts.messages : counts.effects;
  switch (verdict.decision) {
    case 'deliver':
      if (gated === 'message') counts.messages.admitted++;
      break;
    case 'deny':
      bucket.denied++;
      break;
    case 'hold':
      bucket.held++;
      if (verdict.reason === 'approval.predicate_error' && verdict.rule !== undefined)
        counts.predicateErrors[verdict.rule] = (counts.predicateErrors[verdict.rule] ?? 0) + 1;
      break;
    case 'quarantine':
      bucket.quarantined++;
      break;
  }
}

/** Who listens to a mesh's events: `publish` tells each listener, and one that throws is logged, not fatal. */
export type EventHub = {
  publish(event: MeshEvent): void;
  /** Whether anyone listens to every event: decision events are built only then, off the hot path otherwise. */
  listening(): boolean;
  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: (event: MeshEvent) => void): () => void;
  /**
   * Adds a listener told only alarms, predicate-error alerts, dead letters and releases (the alerter): it does
   * not turn `listening()` on, so the hot path builds nothing more for it.
   */
  subscribeAlarms(listener: (event: MeshEvent) => void): () => void;
};

/** The events an alarm listener hears; each is built whether or not anyone listens to everything. */
const ALARM_TYPES: ReadonlySet<MeshEvent['type']> = new Set(['alarm', 'alert', 'dead-letter', 'released']);

export function createEventHub(log: Logger): EventHub {
  const listeners = new Set<(event: MeshEvent) => void>();
  const alarmListeners = new Set<(event: MeshEvent) => void>();
  const tell = (listener: (event: MeshEvent) => void, event: MeshEvent) => {
    try {
      listener(event);
    } catch (err) {
      log.warn({ err }, 'mesh event listener threw');
    }
  };
  return {
    publish(event) {
      for (const listener of listeners) tell(listener, event);
      if (alarmListeners.size > 0 && ALARM_TYPES.has(event.type))
        for (const listener of alarmListeners) tell(listener, event);
    },
    listening: () => listeners.size > 0,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    subscribeAlarms(listener) {
      alarmListeners.add(listener);
      return () => alarmListeners.delete(listener);
    },
  };
}
