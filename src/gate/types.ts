import type { Envelope, GatedKind } from '../envelope/index.js';
import type { StateDelta } from '../state/index.js';

export type VerdictDecision = 'deliver' | 'deny' | 'hold' | 'quarantine';

/** Stage names, in pipeline order; `gate` names the final pass. */
export type StageName =
  | 'envelope'
  | 'authorization'
  | 'contract'
  | 'loop'
  | 'rate-limit'
  | 'budget'
  | 'breaker'
  | 'approval'
  | 'gate'
  /** Set by the runtime, not the gate: input that never became an envelope (a malformed JSON line). */
  | 'ingress';

/** Issue attached to a verdict: where (JSON pointer) and what (sentence). */
export type VerdictIssue = { readonly pointer: string; readonly message: string; readonly keyword?: string };

export type Verdict = {
  readonly decision: VerdictDecision;
  readonly stage: StageName;
  /** The policy rule that decided (limit, budget, breaker or approval id; `loop`; an agent name). */
  readonly rule?: string;
  /** `<stage>.<snake_case>`, unique per stop site. */
  readonly reason: string;
  /** A sentence a pilot understands. */
  readonly detail: string;
  readonly issues?: readonly VerdictIssue[];
};

/**
 * What a remote agent's event claimed for itself besides what it authored. The runtime fills source
 * and causation itself; the envelope stage compares each claim with the envelope the runtime built.
 */
export type RemoteClaim = { readonly source?: string; readonly causationid?: string };

/**
 * What only the runtime can know about an envelope, which the envelope stage turns into its stops
 * (each reason has that one stop site). All absent on the hot path.
 */
export type RuntimeFacts = {
  /**
   * The id the sender gave, which the ledger already holds (the runtime looked it up): it names
   * another message for good. The candidate carries an id of the warden's own instead, so the other
   * message's lineage stays its own. Denied as a duplicate from an ingress, quarantined from an agent.
   */
  readonly takenId?: string;
  /** What a remote agent's event claimed for its source and causation (see RemoteClaim). */
  readonly claimed?: RemoteClaim;
  /** Emitted after its handler's try had settled: a bug in the agent, recorded instead of gated. */
  readonly late?: true;
  /** The candidate has no JSON text to measure (the runtime tried): refused before anything walks it. */
  readonly unreadable?: Unreadable;
  /** A low-code or JSON agent answered, but its reply mapping failed: where, and why. */
  readonly unmapped?: Unmapped;
};

/**
 * Where a reply mapping failed (a JSON pointer into the agent's policy entry, e.g. `/reply/data/label`)
 * and the problem in words. Only the warden's own transports set it, never a remote.
 */
export type Unmapped = { readonly pointer: string; readonly problem: string };

/**
 * Why a candidate has no JSON text: nested past MAX_JSON_DEPTH at a JSON pointer (JSON.stringify
 * itself would overflow the stack), or no canonical JSON form at all (a cycle, a BigInt, a lone
 * surrogate), with the cause in words.
 */
export type Unreadable = { readonly nestedAt: string } | { readonly notJson: string };

export type GateInput = RuntimeFacts & {
  /** The envelope as received (parsed JSON); stage 1 checks its shape. */
  readonly candidate: unknown;
  /**
   * Size of its JSON text in bytes, or an upper bound of it that is within the size guard's limit
   * (the runtime writes out only the text of what might exceed it): either gives the guard's verdict.
   */
  readonly size: number;
  readonly kind: GatedKind;
  /** Decision time, ms since epoch. The gate never reads a clock. */
  readonly now: number;
  /** True when the envelope was built outside this process (ingress with its own id, remote agent). */
  readonly external: boolean;
  /**
   * True when a pilot released this message from the loop guard or a freeze: the loop guard's
   * stops, open breakers, breaker trips and approval rules let it pass (the pilot decided), while
   * identity, authorization, contracts, rate limits and budgets still apply, and it is counted and
   * remembered (breaker counts, echo marks) like any admitted message.
   */
  readonly release?: boolean;
  /**
   * True when an outside caller (an API token with role `partner`) sent it. Such a message must be
   * addressed (`target`) to an agent the policy exposes through the very ingress it came in by;
   * anything else is denied at authorization, so a partner never reaches another consumer.
   */
  readonly partner?: boolean;
};

/** How an ingress message was linked to an effect (docs/agents.md, "Linking what comes back"). */
export type LinkVia = 'causationid' | 'reply-token' | 'echo';

/**
 * The gate links an ingress message to an effect the mesh admitted for the same subject; the
 * envelope then carries the link (causation, correlation, hop, ancestry of the effect). Members in
 * canonical order. Links recorded before `effect` and `via` were kept have only `effectId` and
 * `fingerprint`: they are echoes.
 */
export type EchoLink = {
  /** The effect's type, e.g. `credit.issue` (absent in old ledgers). */
  readonly effect?: string;
  readonly effectId: string;
  /** The shared text's fingerprint, when linked by echo. */
  readonly fingerprint?: string;
  /** The executor's reply token found in the message, when linked by reply token. */
  readonly token?: string;
  readonly via?: LinkVia;
};

export type Decision = {
  readonly verdict: Verdict;
  /** The typed envelope when it passed stage 1: re-linked on echo, with `policydigest` set. */
  readonly envelope?: Envelope;
  /** State changes to apply, in order. Empty unless the decision changes state; a hold ends with its `hold-open`. */
  readonly deltas: readonly StateDelta[];
  readonly link?: EchoLink;
  /** Set with `loop.unverified_causation`: the `causationid` claimed, taken out of the envelope. */
  readonly unverifiedCausation?: string;
};
