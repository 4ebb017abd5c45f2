// The documents the HTTP API returns (docs/api.md). Only what the console reads is typed.

export type Decision = 'deliver' | 'deny' | 'hold' | 'quarantine';

export type MeshNode = {
  id: string;
  kind: 'agent' | 'ingress' | 'effect';
  name: string;
  version?: string;
};

export type MeshGraph = {
  mesh: string;
  digest: string;
  nodes: MeshNode[];
  edges: { from: string; to: string; type: string }[];
};

export type VerdictCounts = Record<Decision, number>;

export type Stats = {
  counts: {
    messages: { admitted: number; delivered: number; denied: number; held: number; quarantined: number };
    effects: { executed: number; denied: number; held: number; quarantined: number; failed: number };
    deadLetters: number;
    /** Holds settled since start (absent from an older warden). */
    answered?: { approved: number; rejected: number; timedOut: number };
    recovered: number;
    predicateErrors?: Record<string, number>;
  };
  windowSeconds: number;
  edges: Record<string, VerdictCounts>;
  /** The latest alert of each rule since start (absent from an older warden). */
  alerts?: Alert[];
};

/** An approval predicate that could not be evaluated: `count` messages held for it so far, `id` the latest. */
export type Alert = {
  kind: 'alert';
  at: string;
  alert: 'predicate_error';
  id: string;
  rule: string;
  reason: string;
  detail: string;
  count: number;
};

export type Hold = {
  id: string;
  type: string;
  subject: string;
  gated: 'message' | 'effect';
  source: string;
  hop: number;
  correlationid: string;
  stage: string;
  rule: string | null;
  reason: string;
  detail: string;
  predicate: string | null;
  heldAt: string;
  timeoutAt: string | null;
  onTimeout: string | null;
  data: unknown;
  /** In a cluster: the node whose partition holds it. */
  node?: string;
};

/** `GET /cluster`: embedded, or this node and every live node of the cluster. */
export type ClusterStatus = {
  mode: 'embedded' | 'cluster';
  node: string | null;
  partitions: number;
  nodes: { node: string; self: boolean; owned: number[]; busy: number; held: number; breakers: number }[];
  unowned: number[];
};

export type Breaker = {
  id: string;
  key: string;
  state: string;
  action: string;
  openedAt: string;
  closesAt: string | null;
  by: string;
  /** A pilot's freeze: the reason the pilot gave (absent from older wardens). */
  reason?: string;
};

export type Breakers = { breakers: Breaker[]; frozen: string[] };

export type Outcome = {
  kind: string;
  agent: string | null;
  at: string;
  /** On `hold.released`: `deliver` or `deny`, the pilot's reason, and the verdict when gated again. */
  outcome?: string;
  reason?: string;
  verdict?: { decision: string; reason: string; detail: string };
  /** On `delivery.failed` and `dead-letter`: the try and what went wrong. */
  attempt?: number;
  error?: { code: string; message: string };
  /** On `alert.sent`: who was told about this message, how, and whether it reached them (docs/alerts.md). */
  alert?: {
    route: string;
    sink: string;
    event: string;
    severity: string;
    outcome: string;
    attempts: number;
    error?: { code: string; message: string };
  };
};

/** The effect an ingress message was linked to, and how (`causationid`, `reply-token`, `echo`). */
export type LinkedEffect = { id: string; effect: string; via: string; fingerprint?: string; token?: string };

/** One message or effect in a lineage: an element of `why`'s chain. */
export type ChainLink = {
  id: string;
  type: string;
  source: string;
  subject: string;
  hop: number;
  verdict: Decision;
  stage: string;
  rule: string | null;
  reason: string;
  detail: string;
  agent: string;
  gated: 'message' | 'effect';
  at: string;
  /** The partition whose chain holds it; absent from servers older than the field. */
  partition?: number;
  causationid: string | null;
  echoOf: string | null;
  /** Absent from servers older than the field. */
  linkedTo?: LinkedEffect | null;
  unverifiedCausation?: string;
  outcomes: Outcome[];
};

/** A freeze, unfreeze or reset on a lineage's subjects (approvals show as `hold.released` outcomes). */
export type PilotAction = {
  action: string;
  subject: string;
  /** `pilot:<token name>`. */
  pilot: string;
  reason: string;
  at: string;
  breaker?: string;
  /** A freeze made before the lineage's first decision and still in force then (it held these messages). */
  inForce?: boolean;
};

export type Why = { id: string; chain: (ChainLink & { data?: unknown })[]; actions?: PilotAction[] };
export type Impact = { target: string; roots: ChainLink[]; impact: ChainLink[] };

export type SearchResult = { q: string; kind: 'message' | 'subject' | 'agent'; results: ChainLink[] };

/** GET /ledger's `lastVerify`: `entries` checked good, of `size` the ledger held then. */
export type VerifyResult = { at: string; ok: boolean; entries: number; size?: number; firstBad?: unknown };

/** One partition's hash chain: its size and its head hash. */
export type PartitionHead = { partition: number; size: number; head: string };

export type LedgerStatus = {
  entries: number;
  /** Partition 0's head; `heads` has every partition's. */
  head: string;
  heads: PartitionHead[];
  lastVerify: VerifyResult | null;
  /** A verify still reading (`up`'s at start runs while it serves); absent from an older server. */
  verifying?: VerifyRunning | null;
  lastCheckpoint: { at: string; size: number; head: string; heads: PartitionHead[] } | null;
};

/** GET /ledger's `verifying`: since when, entries read so far (every 65,536), of how many. */
export type VerifyRunning = { startedAt: string; read: number; total: number };

/** One line of the live feed (the server's compact form of a mesh event); in a cluster, with its node. */
export type FeedEvent = FeedLine & { node?: string };

type FeedLine =
  | {
      kind: 'decision';
      at: string;
      id: string;
      type: string;
      subject: string;
      /** The graph node that sent it, e.g. `agent:churn`. */
      from: string;
      gated: 'message' | 'effect';
      decision: Decision;
      stage: string;
      reason: string;
      rule: string | null;
      /** The verdict's sentence, for people. */
      detail: string;
    }
  | { kind: 'delivered'; at: string; id: string; agent: string }
  | { kind: 'effect-executed'; at: string; id: string; effect: string; subject: string }
  | { kind: 'dead-letter'; at: string; id: string; worker: string; code: string }
  | {
      kind: 'released';
      at: string;
      id: string;
      outcome: 'deliver' | 'deny';
      by: string;
      /** Absent from wardens older than the fields. */
      type?: string;
      subject?: string;
      reason?: string;
      refused?: string;
    }
  | Alert
  | FeedDriftAlarm;

/** A drift monitor's alarm on the live feed: `agent` (`name@version`) drifted; `id` is the message that raised it. */
export type FeedDriftAlarm = {
  kind: 'drift-alarm';
  at: string;
  id: string;
  monitor: string;
  agent: string;
  field: string;
  metric: string;
  score: number;
  threshold: number;
  baseline: string;
  action: string;
  summary: string;
};

/** One `decisions` event: a sample of events, the true verdict counts of the interval, and how many were left out. */
export type FeedBatch = { events: FeedEvent[]; counts?: VerdictCounts; dropped: number };

/**
 * One entry as `GET /ledger/entries` lists it: mirrors `EntryView` in
 * src/server/routes/ledger-entries.ts (the console has its own build and cannot import the server).
 */
export type LedgerEntryView = {
  partition: number;
  seq: number;
  kind: string;
  at: string;
  hash: string;
  msgId?: string;
  subject?: string;
  agent?: string;
  type?: string;
  decision?: string;
  stage?: string;
  reason?: string;
  rule?: string;
  outcome?: string;
  action?: string;
};

/** A page of one partition's entries, newest first; `next` is the `before` of the older page. */
export type LedgerPage = { partition: number; size: number; entries: LedgerEntryView[]; next: number | null };

/** `GET /policy`: the policy in force, with its loop guard and breaker rules (absent from older wardens). */
export type PolicyView = {
  mesh: string;
  digest: string;
  file: string;
  /** The partition count (absent from older wardens). */
  partitions?: number;
  guards?: { loop: { maxHops: number; maxRepeats: number; echoWindowMs: number; action: 'freeze' | 'deny' } };
  breakers?: BreakerRuleView[];
};

export type BreakerRuleView = {
  id: string;
  scope: 'agent' | 'edge' | 'entity' | 'mesh';
  count: string;
  failures?: 'failures' | 'deadLetters';
  over: number;
  windowMs: number;
  action: 'freeze' | 'deny';
  cooldownMs?: number;
};

/** A verdict as a replay report shows it (docs/replay.md). */
export type ReplayVerdict = {
  verdict: string;
  stage: string;
  rule?: string;
  reason: string;
  detail?: string;
};

export type ReplayChange = {
  id: string;
  type: string;
  subject: string;
  kind: 'decision' | 'release';
  gated: 'message' | 'effect';
  at: number;
  recorded: ReplayVerdict;
  candidate: ReplayVerdict;
  followUnknown?: true;
  suppressed?: number;
};

export type ReplayEffectSums = { count: number; sums: Record<string, number>; units: Record<string, string> };
export type ReplayEffects = Record<string, { count: number; bySubject: Record<string, ReplayEffectSums> }>;
export type ReplayBreaker = { id: string; key: string; at: number; action: string; recordedAt?: number };

/** `POST /replay`: what a candidate policy would have decided on the recorded traffic. */
export type ReplayReport = {
  mesh: string;
  candidate: { digest: string; file: string };
  recordedPolicies: string[];
  sameAsRecorded: boolean;
  versionsAdopted: string[];
  decisions: number;
  changed: number;
  /** Of `changed`, the hold outcomes (the matrix counts first decisions only). */
  changedReleases?: number;
  matrix: Record<string, number>;
  changes: ReplayChange[];
  suppressed: string[];
  /** Every message that would not have happened; `suppressed` lists the first `limit` (absent from an older warden). */
  suppressedTotal?: number;
  /** The same, each with its type, subject and time. */
  wouldNotHappen?: { id: string; type: string; subject: string; gated: string; at: number }[];
  kept: { runtimeFacts: number; noEnvelope: number };
  pilot: { replayed: number; moot: number };
  effects: { wouldNotRun: number; byType: ReplayEffects; wouldRun: number; wouldRunByType: ReplayEffects };
  breakers: {
    recorded: ReplayBreaker[];
    candidate: ReplayBreaker[];
    wouldOpen: ReplayBreaker[];
    wouldNotOpen: ReplayBreaker[];
  };
  drift: { recorded: ReplayDriftAlarm[]; candidate: ReplayDriftAlarm[] };
};

export type ReplayDriftAlarm = {
  monitor: string;
  agent: string;
  field: string;
  metric: string;
  score: number;
  threshold: number;
  at: number;
};
