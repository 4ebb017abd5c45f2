export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | readonly JsonValue[] | { readonly [key: string]: JsonValue };
export type JsonObject = { readonly [key: string]: JsonValue };

/**
 * A CloudEvents 1.0 event (structured JSON) with Meshwarden's extension attributes.
 * See ../shared/DESIGN.md "The envelope" for the meaning of each attribute.
 */
export type Envelope = {
  readonly specversion: '1.0';
  /** UUIDv7. */
  readonly id: string;
  /** `mesh://<mesh>/<agent>@<version>` for agents, `mesh://<mesh>/<ingress>` for ingress sources. */
  readonly source: string;
  /** Message type with major version (`ticket.scored.v1`) or an effect name (`credit.issue`). */
  readonly type: string;
  /** RFC 3339 timestamp. */
  readonly time: string;
  /** The entity the message is about (`account:8841`): key of per-entity guards and of partitioning. */
  readonly subject: string;
  readonly data: JsonValue;
  readonly datacontenttype?: string;
  readonly dataschema?: string;
  /** The case: id of the root message. */
  readonly correlationid: string;
  /** Id of the message that directly caused this one; absent on roots. */
  readonly causationid?: string;
  /** Depth in the causal chain, root = 0. */
  readonly hop: number;
  /** Space-separated short digests of (agent, type, subject) of the last `maxHops` ancestors, oldest first. */
  readonly ancestry?: string;
  /** The addressed agent, when addressed rather than published by type. */
  readonly target?: string;
  readonly traceparent?: string;
  readonly tracestate?: string;
  readonly agentversion?: string;
  readonly model?: string;
  readonly inputdigest?: string;
  /** Set by the warden: digest of the policy that admitted it. */
  readonly policydigest?: string;
  /** Base64url Ed25519 signature over the canonical envelope without this attribute. */
  readonly signature?: string;
};

/** What is being gated: a message between agents, or a side-effect request. */
export type GatedKind = 'message' | 'effect';
