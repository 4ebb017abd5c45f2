export type {
  Decision,
  EchoLink,
  GateInput,
  StageName,
  Verdict,
  VerdictDecision,
  VerdictIssue,
} from './types.js';
