export type {
  AgentSpec,
  ApprovalRule,
  BreakerRule,
  Budget,
  EffectSpec,
  EnvelopeGuard,
  IngressSpec,
  LoopGuard,
  Match,
  Policy,
  RateLimit,
  Scope,
} from './types.js';
