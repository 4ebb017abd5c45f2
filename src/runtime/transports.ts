import type { JsonValue, MeshwardenError } from '../envelope/index.js';
import type { Unmapped } from '../gate/index.js';
import type { AgentSpec, EffectSpec, ToolSchemaReader, ToolSchemaResult } from '../policy/index.js';
import type { AgentDefinition, EffectDefinition } from './define.js';

/**
 * Makes the handler of an agent that is not an in-process module: `url:` (an HTTP agent), `a2a:`
 * (an A2A agent card), `flowise:` (a Flowise flow) or `http:` (a plain JSON endpoint). interop/ implements them; the shell passes them to openMesh, so the runtime
 * never imports the layer above it.
 */
export type AgentTransport = {
  /** The policy key it serves. */
  readonly kind: 'url' | 'a2a' | 'flowise' | 'http';
  connect(spec: AgentSpec): AgentDefinition | MeshwardenError;
};

/** Makes the executor of an effect that runs outside the process: `mcp:` (a tool of an MCP server). */
export type EffectTransport = {
  readonly kind: 'mcp';
  connect(spec: EffectSpec): EffectDefinition | MeshwardenError;
  /**
   * Reads the input schema of the effect's tool from its server: the contract of an MCP effect
   * without a contract file, read when the policy is loaded. Never rejects.
   */
  inputSchema?(spec: EffectSpec): Promise<ToolSchemaResult>;
};

/** What openMesh takes from the shell to reach what is not an in-process module. */
export type Transport = AgentTransport | EffectTransport;

/** How a policy load reads MCP tools' input schemas through the given transports, if one can. */
export function toolSchemaReader(transports: readonly Transport[]): ToolSchemaReader | undefined {
  for (const t of transports) {
    if (t.kind === 'mcp' && t.inputSchema !== undefined) return (spec) => t.inputSchema!(spec);
  }
  return undefined;
}

/** The string attributes a remote event may carry besides `type` and `data`. */
export const REMOTE_ATTRIBUTES = [
  'id',
  'time',
  'subject',
  'target',
  'model',
  'signature',
  'source',
  'causationid',
] as const;

/**
 * An event a remote agent made, as it made it. The runtime keeps what the agent authored (id, time,
 * type, subject, data, target, model, signature) and fills in what the warden owns (correlation,
 * causation, hop, ancestry, trace, digests). A claimed `source` or `causationid` must be the agent's
 * own and the message it handled, or the event is quarantined.
 */
export type RemoteEvent = {
  readonly type: string;
  readonly data: JsonValue;
  readonly id?: string;
  readonly time?: string;
  readonly subject?: string;
  readonly target?: string;
  readonly model?: string;
  readonly signature?: string;
  readonly source?: string;
  readonly causationid?: string;
  /**
   * Set by the warden's own low-code transports (never read from a remote's answer): the reply
   * mapping failed here, so the gate quarantines the event (`envelope.unmapped`).
   */
  readonly unmapped?: Unmapped;
};
