// What the shells (cli/, later server/) need from the layers below, so they import runtime/ only.
export {
  duplicateKeyAt,
  type Envelope,
  errorText,
  escapePointer,
  formatLocation,
  isMeshwardenError,
  isUuid,
  type JsonObject,
  type JsonValue,
  MAX_JSON_DEPTH,
  type MeshwardenError,
  makeError,
  nonFiniteAt,
  nonFiniteText,
  parseSource,
  quotedText,
  SIGNED_ATTRIBUTES,
  signEnvelope,
  tooDeepAt,
  verifyEnvelopeSignature,
} from '../envelope/index.js';
export { formatDuration, type VerdictIssue } from '../gate/index.js';
export {
  type Checkpoint,
  type Durability,
  keyFingerprint,
  type Ledger,
  type LedgerEntry,
  type LedgerReader,
  type LedgerWriter,
  ledgerName,
  locationScheme,
  openLedger,
  openLedgerAt,
  parseCheckpoint,
  sizeOf,
  sqliteFileOf,
  verifyCheckpointSignature,
} from '../ledger/index.js';
export {
  type AgentSpec,
  type AlertSinkSpec,
  type AlertsPolicy,
  type ContractChanges,
  compareContracts,
  compileMapping,
  contractFiles,
  contractPlace,
  DURABILITIES,
  type EffectSpec,
  formatPolicyIssue,
  heldTypeIssues,
  holds,
  type LoadPolicyOptions,
  loadPolicy,
  loadPolicyText,
  MAPPING_LIMITS,
  type Mapping,
  type MappingIssue,
  type MappingResult,
  missingMember,
  moduleFiles,
  NAME,
  type Policy,
  type PolicyIssue,
  parseMesh,
  REPLY_NAMES,
  REQUEST_NAMES,
  type RemoteAuth,
  type ReplyMapping,
  repliesOfAgent,
  requestOf,
  type SecretRef,
  type ToolSchemaReader,
  type ToolSchemaResult,
} from '../policy/index.js';
export type { AlertMessage, AlertSink, AlertSinkFactory, SinkResult } from './alert-sink.js';
export { ALERT_SENT } from './alerter.js';
export { isFinal } from './attempts.js';
export { type ClusterControl, type NodeStatus, unownedPartitions } from './cluster-control.js';
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
export { type DriftMonitorView, driftMonitorsView } from './drift-live.js';
export {
  type DriftAgentReport,
  type DriftBins,
  type DriftFieldReport,
  type DriftReport,
  type DriftReportOptions,
  type DriftShift,
  driftReport,
} from './drift-report.js';
export { DRIFT_TARGET, type DriftTarget, parseDriftTarget } from './drift-target.js';
export type { A2aCaller, A2aEndpoint, McpCaller, McpEndpoint } from './endpoints.js';
export { type Clock, systemClock } from './envelopes.js';
export { type ErrorLogFields, errorLogFields } from './error-log.js';
export type { MeshEvent, OutsideAlarm, RunCounts } from './events.js';
export {
  createEvidenceBuilder,
  type EvidenceBuilder,
  evidenceOf,
  PREFIX_BYTES,
  type RawEvidence,
} from './evidence.js';
export { feedFile } from './feed.js';
export type { HoldView, Release } from './holds.js';
export { firstInvalidUtf8, type InputLine, isRejected, parseInputLine } from './input.js';
export { type SearchKind, type SearchResult, searchLedger } from './ledger-search.js';
export {
  type BreakerOpeningView,
  type ChainLink,
  type DriftAlarmView,
  impactOf,
  type LinkedEffect,
  type Outcome,
  type PilotActionView,
  toChainLink,
  whyChain,
} from './lineage.js';
export { createMesh, type Mesh, type MeshOptions, type RejectedInput } from './mesh.js';
export { type MeshRemoved, removeMeshState } from './mesh-removal.js';
export { type LoadedModules, loadModules } from './modules.js';
export { shownServers } from './nats-connect.js';
export {
  type LedgerMove,
  ledgerFile,
  ledgerKeyFile,
  type OpenedMesh,
  type OpenMeshResult,
  openLedgerIn,
  openMesh,
} from './open.js';
export type { ClusterOptions } from './open-cluster.js';
export type { PilotActions } from './pilot.js';
export {
  type ActionResult,
  decidePilotAction,
  type PilotAct,
  type PilotAction,
  type PilotDecision,
  pilotActor,
} from './pilot-decision.js';
export {
  checkRecordedPayloads,
  type PayloadCheck,
  type PayloadCheckOptions,
  payloadIssues,
  type RejectedPayload,
} from './recorded-payloads.js';
export { type BreakerOpening, ENTRY } from './records.js';
export type { RecoveryProgress } from './recovery.js';
export { type ReloadResult, reloadPolicy } from './reload-policy.js';
export { type ReplayOptions, replayLedger } from './replay.js';
export {
  type EffectSums,
  type EffectsByType,
  effectSentence,
  type ReplayBreaker,
  type ReplayChange,
  type ReplayDriftAlarm,
  type ReplayReport,
  type VerdictView,
} from './replay-report.js';
export {
  clusterCounts,
  driftAlarmsSince,
  type RunDriftAlarm,
  type RunSummary,
  storedHeads,
  summarize,
} from './summary.js';
export {
  type AlertOutcome,
  type DecisionReport,
  type MeshGauges,
  type MeshTelemetry,
  noTelemetry,
} from './telemetry.js';
export {
  type AgentTransport,
  type EffectTransport,
  REMOTE_ATTRIBUTES,
  type RemoteEvent,
  type Transport,
  toolSchemaReader,
} from './transports.js';
