// Peer: Microsoft's Agent Governance Toolkit TypeScript SDK (@microsoft/agent-governance-sdk). The
// three trivial steps as async calls; before each of the three messages is handled, its rich policy
// evaluation (`PolicyEngine.evaluatePolicy`) with the closest rules it can express to
// bench/mesh/mesh.yaml, then its hash-chained audit append (`AuditLogger.log`). Both are in memory
// only: the SDK has no durable audit store, and its entries carry no payload.
//
// What the policy engine can express here, and what it cannot:
// - per-agent rate limit: yes, one policy per agent (`agent: 'one'`) with a rule `limit:
//   '10000000/second'`; its limits are fixed-window counters keyed by rule name, counted only
//   for the winning rule of a decision.
// - approval `big-value`: yes as a decision, a `require_approval` rule with the condition
//   `type == 'step.three.v1' and data.value > 1000000`; there is no hold, timeout or onTimeout:
//   the caller gets `allowed: false` and must run the approval itself.
// - loop guard: only maxHops, as a stateless `hops > 8` deny over a hop count the caller carries;
//   no repeat or echo detection.
// - per-entity rate limit: no. Rate-limit state is keyed by rule name and policies are scoped by
//   agent id only, so per entity would take one policy per entity (each decision scans all
//   policies) and would replace the per-agent limit (only the winning rule's limit is counted).
// - value budget (sum of /value per entity per hour) and counting breaker (step.three.v1 count per
//   entity → freeze): no. Conditions are stateless comparisons; nothing accumulates a field or
//   counts messages per key. Its `CircuitBreaker` (metrics) counts a call's failures, globally.
// - message contracts (schema validation): no.
import { AuditLogger, ConflictResolutionStrategy, PolicyEngine } from '@microsoft/agent-governance-sdk';
import { drive, type PeerResult, selfCheck } from './drive.ts';

const note =
  'per message: evaluatePolicy (per-agent rate limit, approval rule, max hops) + hash-chained audit append, in memory only; ' +
  'cannot express the per-entity rate limit, value budget, counting breaker or contracts; no durable log';

type Message = { type: string; subject: string; data: { value: number }; hops: number };
const agents = ['one', 'two', 'three'] as const;

function policyEngine(): PolicyEngine {
  const engine = new PolicyEngine(undefined, ConflictResolutionStrategy.DenyOverrides);
  engine.loadPolicy({
    name: 'bench',
    agents: ['*'],
    scope: 'global',
    default_action: 'deny',
    rules: [
      {
        name: 'big-value',
        condition: "type == 'step.three.v1' and data.value > 1000000",
        ruleAction: 'require_approval',
        approvers: ['ops'],
        priority: 100,
      },
      { name: 'loop-max-hops', condition: 'hops > 8', ruleAction: 'deny', priority: 200 },
    ],
  });
  for (const agent of agents) {
    engine.loadPolicy({
      name: `per-agent-${agent}`,
      agent,
      scope: 'agent',
      default_action: 'deny',
      rules: [{ name: `per-agent-${agent}`, ruleAction: 'allow', limit: '10000000/second', priority: 0 }],
    });
  }
  return engine;
}

export async function run(pipelines: number, inFlight: number): Promise<PeerResult & { note: string }> {
  const engine = policyEngine();
  // Keep every entry: the default (10,000) evicts with an array copy per append once full.
  const audit = new AuditLogger({ maxEntries: pipelines * 3 });
  /** The governance step before a message is handled: policy decision, then audit append. */
  const govern = (agent: string, msg: Message): void => {
    const d = engine.evaluatePolicy(agent, msg);
    audit.log({
      agentId: agent,
      action: `${msg.type} ${msg.subject}`,
      decision: d.allowed ? 'allow' : d.action === 'require_approval' ? 'review' : 'deny',
    });
    if (!d.allowed) throw new Error(`agt: ${msg.type} to ${agent}: ${d.action} (${d.reason})`);
  };
  const one = async (msg: Message): Promise<Message> => ({
    type: 'step.two.v1',
    subject: msg.subject,
    data: { value: msg.data.value + 1 },
    hops: msg.hops + 1,
  });
  const two = async (msg: Message): Promise<Message> => ({
    type: 'step.three.v1',
    subject: msg.subject,
    data: { value: msg.data.value * 2 },
    hops: msg.hops + 1,
  });
  const three = async (_msg: Message): Promise<void> => {};

  const pipeline = async (i: number): Promise<number> => {
    const m1: Message = { type: 'step.one.v1', subject: `entity:${i % 1_000}`, data: { value: i }, hops: 1 };
    govern('one', m1);
    const m2 = await one(m1);
    govern('two', m2);
    const m3 = await two(m2);
    govern('three', m3);
    await three(m3);
    return m3.data.value;
  };

  const result = await drive(pipelines, inFlight, pipeline);
  if (audit.length !== pipelines * 3 || !audit.verify()) {
    throw new Error(`agt: ${audit.length} audit entries for ${pipelines} pipelines, or a broken chain`);
  }
  return { ...result, note };
}

if (import.meta.main) await selfCheck('agt', run);
