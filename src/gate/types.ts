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

export type GateInput = {
  /** The envelope as received (parsed JSON); stage 1 checks its shape. */
  readonly candidate: unknown;
  /** Size of its JSON text in bytes. */
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

/** The runtime links an ingress message to the effect it echoes; the admitted envelope carries the link. */
export type EchoLink = { readonly effectId: string; readonly fingerprint: string };

export type Decision = {
  readonly verdict: Verdict;
  /** The typed envelope when it passed stage 1: re-linked on echo, with `policydigest` set. */
  readonly envelope?: Envelope;
  /** State changes to apply, in order. Empty unless the decision changes state. */
  readonly deltas: readonly StateDelta[];
  readonly link?: EchoLink;
};
