// The package's public entry: what agent and effect modules import (`import { defineAgent } from 'meshwarden'`).
export type { Envelope, JsonObject, JsonValue } from './envelope/index.js';
// For remote agents written in TypeScript: sign what they send (see docs/interop.md).
export { SIGNED_ATTRIBUTES, signEnvelope, verifyEnvelopeSignature } from './envelope/index.js';
// Framework adapters: a LangGraph.js graph or a LlamaIndex.TS workflow as a mesh agent (docs/interop.md).
export {
  type Emission,
  type InvokableGraph,
  langGraphAgent,
  llamaIndexAgent,
  type WorkflowEventLike,
  type WorkflowLike,
} from './interop/index.js';
export {
  type AgentContext,
  type AgentDefinition,
  defineAgent,
  defineEffect,
  type EffectContext,
  type EffectDefinition,
  type EmitOptions,
  type IngressMessage,
} from './runtime/index.js';
