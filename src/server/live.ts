import { type Mesh, type MeshEvent, parseSource } from '../runtime/index.js';
import type { ClusterView } from './deps.js';

/**
 * One line of the live feed: a mesh event, compact (docs/api.md, `GET /events`). In a cluster each
 * names the `node` that decided it.
 */
export type FeedEvent = FeedLine & { readonly node?: string };

type FeedLine =
  | {
      readonly kind: 'decision';
      readonly at: string;
      readonly id: string;
      readonly type: string;
      readonly subject: string;
      readonly from: string;
      readonly gated: string;
      readonly decision: string;
      readonly stage: string;
      readonly reason: string;
      readonly rule: string | null;
      readonly detail: string;
    }
  | { readonly kind: 'delivered'; readonly at: string; readonly id: string; readonly agent: string }
  | {
      readonly kind: 'effect-executed';
      readonly at: string;
      readonly id: string;
      readonly effect: string;
      readonly subject: string;
    }
  | {
      readonly kind: 'dead-letter';
      readonly at: string;
      readonly id: string;
      readonly worker: string;
      readonly code: string;
    }
  | {
      readonly kind: 'released';
      readonly at: string;
      readonly id: string;
      readonly outcome: 'deliver' | 'deny';
      readonly by: string;
      /** What was released (its type and subject), and the pilot's reason when a pilot answered. */
      readonly type: string;
      readonly subject: string;
      readonly reason?: string;
      /** An approval that the re-check refused all the same (a loop or freeze hold): its reason. */
      readonly refused?: string;
    }
  | FeedAlertLine
  | FeedDriftAlarmLine;

/**
 * A drift monitor's alarm (docs/drift.md): `agent` (`name@version`) drifted on `field` against
 * `baseline`; `id` is the message that raised it (empty if none), `summary` the warden's sentence.
 */
type FeedDriftAlarmLine = {
  readonly kind: 'drift-alarm';
  readonly at: string;
  readonly id: string;
  readonly monitor: string;
  readonly agent: string;
  readonly field: string;
  readonly metric: string;
  readonly score: number;
  readonly threshold: number;
  readonly baseline: string;
  readonly action: string;
  readonly summary: string;
};

/**
 * An approval predicate that could not be evaluated: the message (`id`, the latest) is held, and a
 * pilot should fix the rule. `count` is how many times since the mesh started.
 */
export type FeedAlert = FeedAlertLine & { readonly node?: string };

type FeedAlertLine = {
  readonly kind: 'alert';
  readonly at: string;
  readonly alert: 'predicate_error';
  readonly id: string;
  readonly rule: string;
  readonly reason: string;
  readonly detail: string;
  readonly count: number;
};

export type VerdictCounts = { deliver: number; deny: number; hold: number; quarantine: number };

export type LiveView = {
  /** Calls `send` with every event until the returned function is called. */
  subscribe(send: (event: FeedEvent) => void): () => void;
  /** Decisions of the last `windowSeconds`, keyed by `"<from node> <type>"`. */
  edgeCounts(now: number): Record<string, VerdictCounts>;
  readonly windowSeconds: number;
  /**
   * The latest alert of each rule, with its count, in the order the rules first failed: only rules
   * still in force as they were (a reload that fixes or drops a rule clears its alert; one that
   * changes it counts anew).
   */
  alerts(): FeedAlert[];
  close(): void;
};

const WINDOW_SECONDS = 10;
const DECISIONS = ['deliver', 'deny', 'hold', 'quarantine'] as const;

/** The graph node a source names: `agent:<name>` or `ingress:<name>`. */
export function nodeOf(source: string): string {
  const ref = parseSource(source);
  if (ref === undefined) return source;
  return ref.version === undefined ? `ingress:${ref.name}` : `agent:${ref.name}`;
}

/**
 * Events the feed shows: drift alarms among the alarms (other alarms and alert outcomes reach pilots
 * through their sinks, docs/alerts.md).
 */
type FeedSource = Exclude<MeshEvent, { type: 'alarm' | 'alert-delivery' }>;
type Alarm = Extract<MeshEvent, { type: 'alarm' }>;

export function feedEventOf(event: FeedSource | Alarm, count = 1, node?: string): FeedEvent {
  const line = event.type === 'alarm' ? driftAlarmLine(event) : feedLineOf(event, count);
  return node === undefined ? line : { ...line, node };
}

function driftAlarmLine(event: Alarm): FeedDriftAlarmLine {
  const d = (event.detail ?? {}) as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === 'string' ? v : '');
  const number = (v: unknown) => (typeof v === 'number' ? v : 0);
  return {
    kind: 'drift-alarm',
    at: new Date(event.at).toISOString(),
    id: event.msgId ?? '',
    monitor: text(d.monitor) || (event.rule ?? ''),
    agent: text(d.agent),
    field: text(d.field),
    metric: text(d.metric),
    score: number(d.score),
    threshold: number(d.threshold),
    baseline: text(d.baseline),
    action: text(d.action),
    summary: event.summary,
  };
}

function feedLineOf(event: FeedSource, count: number): FeedLine {
  const at = new Date(event.at).toISOString();
  switch (event.type) {
    case 'decision':
      return {
        kind: 'decision',
        at,
        id: event.msgId,
        type: event.envelope?.type ?? '(unparsed input)',
        subject: event.envelope?.subject ?? '',
        from: event.envelope === undefined ? '' : nodeOf(event.envelope.source),
        gated: event.gated,
        decision: event.verdict.decision,
        stage: event.verdict.stage,
        reason: event.verdict.reason,
        rule: event.verdict.rule ?? null,
        detail: event.verdict.detail ?? '',
      };
    case 'delivered':
      return { kind: 'delivered', at, id: event.msgId, agent: event.agent };
    case 'effect-executed':
      return { kind: 'effect-executed', at, id: event.msgId, effect: event.effect, subject: event.subject };
    case 'dead-letter':
      return { kind: 'dead-letter', at, id: event.msgId, worker: event.worker, code: event.code };
    case 'released':
      return {
        kind: 'released',
        at,
        id: event.msgId,
        outcome: event.outcome,
        by: event.by,
        type: event.messageType,
        subject: event.subject,
        ...(event.reason === undefined ? {} : { reason: event.reason }),
        ...(event.regateReason === undefined ? {} : { refused: event.regateReason }),
      };
    case 'alert':
      return {
        kind: 'alert',
        at,
        alert: event.alert,
        id: event.msgId,
        rule: event.rule,
        reason: event.reason,
        detail: event.detail,
        count,
      };
  }
}

/**
 * Watches the mesh for the console: per-edge verdict counts over a sliding window of one-second
 * slots, and a fan-out of compact events to feed subscribers. Events are built only while someone
 * subscribes. In a cluster the rates and the feed are the whole mesh's: this node's decisions are
 * counted here, the other nodes' arrive counted (`cluster.onCounts`), and while someone subscribes
 * this node follows the others, which then send every event (`cluster.follow`).
 */
export function createLiveView(
  mesh: Mesh,
  cluster?: Pick<ClusterView, 'node' | 'onEvent' | 'onCounts' | 'follow'>,
): LiveView {
  const slots = new Map<string, { second: number; counts: VerdictCounts }[]>();
  const subscribers = new Set<(event: FeedEvent) => void>();
  const alerts = new Map<string, { line: FeedAlert; when: string | undefined }>();
  const whenOf = (rule: string) => mesh.policy.approvals.find((a) => a.id === rule)?.when;
  let unfollow: (() => void) | undefined;

  /** Adds to a key's slot of `second`; slots stay in order (another node's counts come a little late). */
  const count = (key: string, second: number, decision: keyof VerdictCounts, n = 1) => {
    let list = slots.get(key);
    if (list === undefined) {
      list = [];
      slots.set(key, list);
    }
    let i = list.length;
    while (i > 0 && list[i - 1]!.second > second) i--;
    let slot = list[i - 1];
    if (slot?.second !== second) {
      if (second <= (list.at(-1)?.second ?? second) - WINDOW_SECONDS) return; // already out of the window
      slot = { second, counts: { deliver: 0, deny: 0, hold: 0, quarantine: 0 } };
      list.splice(i, 0, slot);
      const newest = list.at(-1)!.second;
      while (list.length > 0 && list[0]!.second <= newest - WINDOW_SECONDS) list.shift();
    }
    slot.counts[decision] += n;
  };

  const watch =
    cluster === undefined
      ? (listener: (event: MeshEvent, node?: string) => void) => mesh.onEvent((event) => listener(event))
      : (listener: (event: MeshEvent, node?: string) => void) => cluster.onEvent(listener);
  const stop = watch((event, node) => {
    if (event.type === 'alert-delivery') return;
    if (event.type === 'alarm') {
      if (event.event !== 'drift.alarm' || subscribers.size === 0) return;
      const line = feedEventOf(event, 1, node);
      for (const send of subscribers) send(line);
      return;
    }
    // Another node's decisions are counted where they were decided (`onCounts`), not again here.
    if (event.type === 'decision' && event.envelope !== undefined && node === cluster?.node) {
      const key = `${nodeOf(event.envelope.source)} ${event.envelope.type}`;
      count(key, Math.floor(event.at / 1000), event.verdict.decision);
    }
    let line: FeedEvent | undefined;
    if (event.type === 'alert') {
      const when = whenOf(event.rule);
      const last = alerts.get(event.rule);
      line = feedEventOf(event, (last?.when === when ? (last?.line.count ?? 0) : 0) + 1, node);
      alerts.set(event.rule, { line: line as FeedAlert, when });
    }
    if (subscribers.size === 0) return;
    line ??= feedEventOf(event, 1, node);
    for (const send of subscribers) send(line);
  });
  const stopCounts = cluster?.onCounts((counts) => {
    for (const c of counts) {
      const key = `${nodeOf(c.source)} ${c.type}`;
      for (const decision of DECISIONS)
        if (c.counts[decision] > 0) count(key, c.second, decision, c.counts[decision]);
    }
  });

  return {
    subscribe(send) {
      subscribers.add(send);
      unfollow ??= cluster?.follow();
      return () => {
        subscribers.delete(send);
        if (subscribers.size > 0) return;
        unfollow?.();
        unfollow = undefined;
      };
    },
    edgeCounts(now) {
      const since = Math.floor(now / 1000) - WINDOW_SECONDS;
      const out: Record<string, VerdictCounts> = {};
      for (const [key, list] of slots) {
        const sum: VerdictCounts = { deliver: 0, deny: 0, hold: 0, quarantine: 0 };
        for (const slot of list) {
          if (slot.second <= since) continue;
          sum.deliver += slot.counts.deliver;
          sum.deny += slot.counts.deny;
          sum.hold += slot.counts.hold;
          sum.quarantine += slot.counts.quarantine;
        }
        if (sum.deliver + sum.deny + sum.hold + sum.quarantine > 0) out[key] = sum;
        // A key nothing crossed for a whole window goes, so odd one-off types do not pile up.
        else if ((list.at(-1)?.second ?? 0) <= since) slots.delete(key);
      }
      return out;
    },
    windowSeconds: WINDOW_SECONDS,
    alerts: () => [...alerts.values()].filter((a) => a.when === whenOf(a.line.rule)).map((a) => a.line),
    close() {
      stop();
      stopCounts?.();
      unfollow?.();
      subscribers.clear();
    },
  };
}
