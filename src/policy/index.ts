export {
  ALERT_EVENTS,
  ALERT_SEVERITIES,
  type AlertEventName,
  type AlertRoute,
  type AlertSeverity,
  type AlertSinkSpec,
  type AlertsPolicy,
  type SecretRef,
  SINK_TYPES,
  type SinkType,
} from './alert-types.js';
export { type CompiledPredicate, compilePredicate, type Predicate } from './cel.js';
export { compilePolicy } from './compile.js';
export {
  type ContractChanges,
  type ContractPlace,
  compareContracts,
  contractPlace,
} from './contract-changes.js';
export { DRIFT_DEFAULTS } from './drift.js';
export { POLICY_ERRORS, type PolicyCode, policyMessage } from './errors.js';
export { contractFileOf, contractFiles, moduleFiles, type NamedFile } from './files.js';
export { type HeldOne, heldTypeIssues } from './held-types.js';
export { formatPolicyIssue, type PolicyIssue, type PolicyLoadResult, sortIssues } from './issues.js';
export { type LoadPolicyOptions, loadPolicy, loadPolicyText } from './load.js';
export { DEFAULT_REQUESTS, repliesOfAgent, requestOf } from './mapped-agents.js';
export {
  compileMapping,
  holds,
  isTemplated,
  MAPPING_LIMITS,
  type Mapping,
  type MappingFailure,
  type MappingIssue,
  type MappingLimits,
  type MappingOptions,
  type MappingResult,
  REPLY_NAMES,
  REQUEST_NAMES,
} from './mapping.js';
export { policyFileTextOrEmpty } from './policy-file.js';
export { missingMember, requiredMembers } from './reply-required.js';
export { MESH_SCHEMA, NAME } from './schema.js';
export { overShare, sharesOf } from './shares.js';
export { type Located, type ParsedMesh, type Path, type Position, parseMesh } from './source.js';
export type { ToolSchemaReader, ToolSchemaResult } from './tool-schemas.js';
export type {
  AgentSpec,
  ApprovalRule,
  BreakerRule,
  Budget,
  DriftMonitor,
  DriftMonitorBaseline,
  Durability,
  EffectSpec,
  EnvelopeGuard,
  FailureCount,
  HttpMethod,
  IngressSpec,
  LedgerSettings,
  LoopGuard,
  Match,
  Policy,
  RateLimit,
  RemoteAuth,
  ReplyMapping,
  Scope,
} from './types.js';
export { DURABILITIES, HTTP_METHODS } from './types.js';
export { parseDuration, parseRate, type Rate } from './units.js';
