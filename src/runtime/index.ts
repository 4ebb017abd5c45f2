export {
  type AgentContext,
  type AgentDefinition,
  defineAgent,
  defineEffect,
  type EffectContext,
  type EffectDefinition,
  type EmitOptions,
  type IngressMessage,
} from './define.js';
export type { RetryOptions } from './delivery.js';
export { type Clock, systemClock } from './envelopes.js';
export type { MeshEvent, RunCounts } from './events.js';
export { type InputLine, isRejected, parseInputLine } from './input.js';
export { type ChainLink, impactOf, whyChain } from './lineage.js';
export { createMesh, type Mesh, type MeshOptions, type RejectedInput } from './mesh.js';
export { type LoadedModules, loadModules } from './modules.js';
export { ledgerFile, type OpenedMesh, type OpenMeshResult, openMesh } from './open.js';
export { ENTRY } from './records.js';
export { type RunSummary, summarize } from './summary.js';
