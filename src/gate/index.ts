export { scopeKeyFor } from './context.js';
export { decide, STAGE_NAMES } from './decide.js';
export { formatDuration } from './format.js';
export { partnerReach } from './stages/authorization.js';
export type {
  Decision,
  EchoLink,
  GateInput,
  LinkVia,
  RemoteClaim,
  RuntimeFacts,
  StageName,
  Unmapped,
  Unreadable,
  Verdict,
  VerdictDecision,
  VerdictIssue,
} from './types.js';
