import type { Contract } from '../contracts/index.js';
import type { Envelope, JsonValue } from '../envelope/index.js';
import type { AlertsPolicy } from './alert-types.js';

export type Scope = 'agent' | 'edge' | 'entity' | 'mesh';

/**
 * How far the ledger forces each commit to the disk (SQLite `synchronous` in WAL mode): `full`
 * survives an OS crash or a power loss, `normal` only a crash of the process.
 */
export const DURABILITIES = ['full', 'normal'] as const;
export type Durability = (typeof DURABILITIES)[number];

/** The `ledger:` settings. */
export type LedgerSettings = { readonly durability: Durability };

export type AgentSpec = {
  readonly name: string;
  readonly version: string;
  /** Absolute path of the in-process module (default export from `defineAgent`). */
  readonly module?: string;
  /** HTTP agent endpoint. */
  readonly url?: string;
  /** A2A agent card URL. */
  readonly a2a?: string;
  /** A Flowise chatflow or agentflow, called through its prediction API with the mapped request. */
  readonly flowise?: { readonly url: string; readonly flow: string; readonly timeoutMs?: number };
  /** A plain JSON-over-HTTP endpoint (an n8n webhook, an in-house service), called with the mapped request. */
  readonly http?: { readonly url: string; readonly method: HttpMethod; readonly timeoutMs?: number };
  /**
   * The request template of a flowise or http agent, as written (docs/policy.md); absent: the
   * transport's default. Transports compile it with compileMapping over REQUEST_NAMES.
   */
  readonly request?: JsonValue;
  /** The reply mappings of a flowise or http agent, as written (one becomes a list of one). */
  readonly reply?: readonly ReplyMapping[];
  readonly consumes: readonly string[];
  readonly emits: readonly string[];
  readonly effects: readonly string[];
  /** PEM Ed25519 public key; when set, this agent's envelopes must be signed by it. */
  readonly publicKey?: string;
  /**
   * Served to outside callers (an A2A agent at /api/v1/a2a/<name>): what they send enters through
   * the ingress `via`, addressed to this agent, and passes the gate like any root message.
   */
  readonly expose?: { readonly via: string };
  /** The credential a remote agent (`url`, `a2a`, `flowise`, `http`) is called with. */
  readonly auth?: RemoteAuth;
};

export const HTTP_METHODS = ['POST', 'PUT', 'PATCH'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/**
 * How an answer becomes an emission: `type` is a literal type the agent emits; `data`, `when` and
 * `subject` are templates over REPLY_NAMES. Every mapping whose `when` holds (or has none) emits.
 */
export type ReplyMapping = {
  /** Where it is written in its agent's entry, a JSON pointer: `/reply` alone, `/reply/<i>` in a list. */
  readonly at: string;
  readonly type: string;
  readonly data: JsonValue;
  readonly when?: string;
  readonly subject?: string;
  /**
   * Pointers into `data` (`/score`) of its `{{ }}` members that the contract of `type` requires,
   * found at compile time (reply-required.ts): one that gives nothing makes the emission unmapped.
   */
  readonly required?: readonly string[];
};

/**
 * A credential a remote part is called with: read from the warden's environment variable `env` when
 * it connects, so the secret is never in the policy, its digest or the ledger. Over HTTP it is the
 * header `header: [scheme ]<secret>` (default `Authorization: Bearer <secret>`); a spawned MCP server
 * gets it as that same environment variable.
 */
export type RemoteAuth = { readonly env: string; readonly header: string; readonly scheme?: string };

export type EffectSpec = {
  readonly name: string;
  /** Absolute path of the executor module (default export from `defineEffect`). */
  readonly module?: string;
  /**
   * A tool of an MCP server executes it. `server` is as written (relative paths resolved), and how to
   * reach it is already read: a Streamable HTTP `url`, or a `command` (its words) to spawn for stdio.
   */
  readonly mcp?: {
    readonly server: string;
    readonly tool: string;
    readonly url?: string;
    readonly command?: readonly string[];
    /** The credential the server is reached with. */
    readonly auth?: RemoteAuth;
  };
};

export type IngressSpec = { readonly name: string; readonly emits: readonly string[] };

/** Which messages a limit or budget applies to; every given field must match. */
export type Match = { readonly type?: string; readonly source?: string; readonly target?: string };

export type LoopGuard = {
  readonly maxHops: number;
  readonly maxRepeats: number;
  readonly echoWindowMs: number;
  /** Shortest normalized string (in UTF-16 code units) the fuzzy echo compares; shorter ones are ignored. */
  readonly echoMinLength: number;
  /** What a detected loop does: freeze the subject (hold everything for it) or deny the message. */
  readonly action: 'freeze' | 'deny';
};

export type EnvelopeGuard = {
  /** Largest accepted envelope, in bytes of its JSON text. */
  readonly maxBytes: number;
  /** How long an externally supplied id is remembered for duplicate detection. */
  readonly dedupeWindowMs: number;
};

/** A token bucket: `burst` tokens, one refilled every `intervalMs`. */
export type RateLimit = {
  readonly id: string;
  readonly scope: Scope;
  readonly intervalMs: number;
  readonly burst: number;
  /** The rate as written, for sentences (`30/min`). */
  readonly rate: string;
  readonly match?: Match;
};

/** A windowed sum of one numeric field of messages or effects of one type. */
export type Budget = {
  readonly id: string;
  readonly scope: Scope;
  readonly type: string;
  /** JSON pointer into `data`, as written, and split into tokens. */
  readonly field: string;
  readonly fieldPath: readonly string[];
  readonly max: number;
  readonly windowMs: number;
};

/** What a failure breaker counts, and whose failures. */
export type FailureCount = {
  /**
   * `failures`: every failed try (each `delivery.failed` and `dead-letter` ledger entry);
   * `deadLetters`: every message or request given up after its last try (`dead-letter` entries).
   */
  readonly kind: 'failures' | 'deadLetters';
  /** Whose failures, as the ledger names the worker: `effect:<name>`, or an agent's name. */
  readonly worker: string;
};

export type BreakerRule = {
  readonly id: string;
  readonly scope: Scope;
  /** Counted message or effect type; for a failure breaker, the effect or agent named, as written. */
  readonly count: string;
  /** Set when the breaker counts failures (`when.failures` or `when.deadLetters`), not admissions. */
  readonly failures?: FailureCount;
  /** Trips when more than `over` are admitted (or fail) within the window. */
  readonly over: number;
  readonly windowMs: number;
  readonly action: 'freeze' | 'deny';
  /** When set, an open breaker closes by itself this long after it opened. */
  readonly cooldownMs?: number;
};

export type ApprovalRule = {
  readonly id: string;
  /** The CEL source, shown to pilots. */
  readonly when: string;
  /** Evaluates the compiled CEL predicate over `msg`; an evaluation error is returned, never thrown. */
  readonly test: (msg: Envelope) => boolean | Error;
  readonly timeoutMs: number;
  readonly onTimeout: 'deny' | 'deliver';
};

/** What a drift monitor compares with (see state/drift-monitor.ts, which has the same shape). */
export type DriftMonitorBaseline =
  | { readonly kind: 'previous' }
  | { readonly kind: 'version'; readonly version: string }
  | { readonly kind: 'window'; readonly windowMs: number };

/** A `drift:` monitor (docs/drift.md): one agent's emissions of one type, on a few fields. */
export type DriftMonitor = {
  readonly id: string;
  readonly agent: string;
  readonly type: string;
  /** JSON pointers into `data`, as written, and split into tokens. */
  readonly fields: readonly string[];
  readonly fieldPaths: readonly (readonly string[])[];
  /** The current window. */
  readonly windowMs: number;
  readonly baseline: DriftMonitorBaseline;
  /** The score at or above which the monitor alarms. */
  readonly threshold: number;
  /** Values needed on each side before the monitor may alarm. */
  readonly minSamples: number;
  /** `alert` only tells; `freeze` holds the agent's output for a pilot; `deny` refuses it. */
  readonly action: 'alert' | 'freeze' | 'deny';
};

/** A compiled, validated mesh policy. Immutable; `digest` identifies it in the ledger. */
export type Policy = {
  readonly mesh: string;
  /** Where `mesh` is written in `file`: an error about the name (a reload for another mesh) points there. */
  readonly meshAt?: { readonly line: number; readonly col: number };
  readonly digest: string;
  /** Absolute path of the mesh file it was loaded from. */
  readonly file: string;
  readonly partitions: number;
  /** Where `partitions` is written in `file`, when it is: an error about the count points there. */
  readonly partitionsAt?: { readonly line: number; readonly col: number };
  /** Settings of the ledger the mesh writes; a command-line flag may override them. */
  readonly ledger: LedgerSettings;
  readonly agents: ReadonlyMap<string, AgentSpec>;
  readonly effects: ReadonlyMap<string, EffectSpec>;
  readonly ingress: ReadonlyMap<string, IngressSpec>;
  /** Contracts by message type or effect name. */
  readonly contracts: ReadonlyMap<string, Contract>;
  /** Routing: message type → names of agents that consume it. */
  readonly consumers: ReadonlyMap<string, readonly string[]>;
  readonly guards: { readonly loop: LoopGuard; readonly envelope: EnvelopeGuard };
  readonly limits: readonly RateLimit[];
  readonly budgets: readonly Budget[];
  readonly breakers: readonly BreakerRule[];
  readonly approvals: readonly ApprovalRule[];
  /** Drift monitors, in file order; empty when the file has no `drift:`. */
  readonly drift?: readonly DriftMonitor[];
  /** Where mesh events are alerted (docs/alerts.md); absent when the file has no `alerts:`. */
  readonly alerts?: AlertsPolicy;
};
