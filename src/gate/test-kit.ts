/**
 * Test factories for the gate: a hand-built retention policy (contracts validate inline) and envelope
 * builders that fill in what the runtime would. Pure; used only by tests.
 */
import type { Contract, Issue } from '../contracts/index.js';
import {
  type Envelope,
  extendAncestry,
  formatUuidV7,
  hopDigest,
  type JsonValue,
  parseSource,
} from '../envelope/index.js';
import type { AgentSpec, ApprovalRule, BreakerRule, Budget, Policy } from '../policy/index.js';
import { createMemoryState, type StateStore } from '../state/index.js';
import { decide } from './decide.js';
import type { Decision, GateInput } from './types.js';

export const NOW = Date.UTC(2025, 5, 1, 12, 0, 0);
export const MIN = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function contract(type: string, check: (data: Record<string, unknown>) => Issue[]): Contract {
  return {
    type,
    schema: { type: 'object' },
    validate(data) {
      if (data === null || typeof data !== 'object' || Array.isArray(data)) {
        return [{ code: 'MW_CONTRACT', path: [], message: 'must be an object', keyword: 'type' }];
      }
      return check(data as Record<string, unknown>);
    },
  };
}

function needs(field: string, kind: 'string' | 'number') {
  return (data: Record<string, unknown>): Issue[] =>
    typeof data[field] === kind
      ? []
      : [{ code: 'MW_CONTRACT', path: [field], message: `must be a ${kind}`, keyword: 'type' }];
}

const AGENTS: AgentSpec[] = [
  {
    name: 'sentiment',
    version: '1.4.0',
    consumes: ['ticket.opened.v1'],
    emits: ['ticket.scored.v1'],
    effects: [],
  },
  {
    name: 'churn',
    version: '2.0.1',
    consumes: ['ticket.scored.v1'],
    emits: ['churn.assessed.v1'],
    effects: [],
  },
  {
    name: 'discount',
    version: '1.1.0',
    consumes: ['churn.assessed.v1'],
    emits: [],
    effects: ['credit.issue', 'email.send'],
  },
];

/** The retention mesh with no limits, budgets, breakers or approvals; override any field. */
export function testPolicy(overrides: Partial<Mutable<Policy>> = {}): Policy {
  const contracts = [
    contract('ticket.opened.v1', needs('text', 'string')),
    contract('ticket.scored.v1', needs('score', 'number')),
    contract('churn.assessed.v1', needs('probability', 'number')),
    contract('credit.issue', needs('amount', 'number')),
    contract('email.send', needs('body', 'string')),
  ];
  return {
    mesh: 'retention',
    digest: 'sha256:test-policy',
    file: '/test/mesh.yaml',
    partitions: 1,
    ledger: { durability: 'full' },
    agents: new Map(AGENTS.map((a) => [a.name, a])),
    effects: new Map([
      ['credit.issue', { name: 'credit.issue' }],
      ['email.send', { name: 'email.send' }],
    ]),
    ingress: new Map([['inbox', { name: 'inbox', emits: ['ticket.opened.v1'] }]]),
    contracts: new Map(contracts.map((c) => [c.type, c])),
    consumers: new Map([
      ['ticket.opened.v1', ['sentiment']],
      ['ticket.scored.v1', ['churn']],
      ['churn.assessed.v1', ['discount']],
    ]),
    guards: {
      loop: { maxHops: 8, maxRepeats: 1, echoWindowMs: DAY, echoMinLength: 16, action: 'freeze' },
      envelope: { maxBytes: 65_536, dedupeWindowMs: DAY },
    },
    limits: [],
    budgets: [],
    breakers: [],
    approvals: [],
    ...overrides,
  };
}

/** `msg.type == "credit.issue" && msg.data.amount > 50.0`, written by hand instead of compiled CEL. */
export const bigCredit: ApprovalRule = {
  id: 'big-credit',
  when: 'msg.type == "credit.issue" && msg.data.amount > 50.0',
  test: (msg) => {
    if (msg.type !== 'credit.issue') return false;
    const amount = (msg.data as { amount?: unknown }).amount;
    return typeof amount === 'number' ? amount > 50 : new Error('no such key: amount');
  },
  timeoutMs: 4 * HOUR,
  onTimeout: 'deny',
};

/** At most 100 credited per account per day. */
export const creditBudget: Budget = {
  id: 'credit-per-account',
  scope: 'entity',
  type: 'credit.issue',
  field: '/amount',
  fieldPath: ['amount'],
  max: 100,
  windowMs: DAY,
};

/** More than 2 credits to one account within an hour freezes it. */
export const creditBurst: BreakerRule = {
  id: 'credit-burst',
  scope: 'entity',
  count: 'credit.issue',
  over: 2,
  windowMs: HOUR,
  action: 'freeze',
};

/** The retention policy with every guard of DESIGN.md's mesh.yaml active. */
export function fullPolicy(overrides: Partial<Mutable<Policy>> = {}): Policy {
  return testPolicy({
    limits: [{ id: 'per-account', scope: 'entity', intervalMs: 2000, burst: 30, rate: '30/min' }],
    budgets: [creditBudget],
    breakers: [creditBurst],
    approvals: [bigCredit],
    ...overrides,
  });
}

let counter = 0;
/** A fresh, valid UUIDv7 (deterministic per test run order). */
export function nextId(ms = NOW): string {
  counter++;
  const random = new Uint8Array(10);
  new DataView(random.buffer).setUint32(6, counter);
  return formatUuidV7(ms, random);
}

const VERSIONS = new Map(AGENTS.map((a) => [a.name, a.version]));

/** `mesh://retention/<name>@<version>` for agents, `mesh://retention/<name>` otherwise. */
export function src(name: string, mesh = 'retention'): string {
  const version = VERSIONS.get(name);
  return `mesh://${mesh}/${name}${version === undefined ? '' : `@${version}`}`;
}

/** A root envelope from the inbox ingress, with any field replaced. */
export function envelope(fields: Partial<Mutable<Envelope>> = {}): Envelope {
  const id = fields.id ?? nextId();
  return {
    specversion: '1.0',
    id,
    source: src('inbox'),
    type: 'ticket.opened.v1',
    time: '2025-06-01T12:00:00Z',
    subject: 'account:8841',
    correlationid: id,
    hop: 0,
    data: { text: 'My invoice is wrong again, please fix it' },
    ...fields,
  };
}

/** What the runtime emits when `agent` reacts to `parent`: same case, one hop deeper, ancestry extended. */
export function child(parent: Envelope, agent: string, type: string, data: JsonValue, maxHops = 8): Envelope {
  const parentName = parseSource(parent.source)?.name ?? '';
  return envelope({
    source: src(agent),
    type,
    subject: parent.subject,
    data,
    correlationid: parent.correlationid,
    causationid: parent.id,
    hop: parent.hop + 1,
    ancestry: extendAncestry(parent.ancestry, hopDigest(parentName, parent.type, parent.subject), maxHops),
  });
}

export function input(candidate: unknown, opts: Partial<Mutable<GateInput>> = {}): GateInput {
  return {
    candidate,
    size: opts.size ?? 200,
    kind: opts.kind ?? 'message',
    now: opts.now ?? NOW,
    external: opts.external ?? false,
    ...(opts.release === undefined ? {} : { release: opts.release }),
    ...(opts.partner === undefined ? {} : { partner: opts.partner }),
    ...(opts.takenId === undefined ? {} : { takenId: opts.takenId }),
    ...(opts.claimed === undefined ? {} : { claimed: opts.claimed }),
    ...(opts.late === undefined ? {} : { late: opts.late }),
    ...(opts.unmapped === undefined ? {} : { unmapped: opts.unmapped }),
    ...(opts.unreadable === undefined ? {} : { unreadable: opts.unreadable }),
  };
}

/** Decides against `store` and applies the deltas, as the runtime does. */
export function step(
  store: StateStore,
  policy: Policy,
  candidate: unknown,
  opts: Partial<Mutable<GateInput>> = {},
): Decision {
  const decision = decide(input(candidate, opts), policy, store);
  store.apply(decision.deltas);
  return decision;
}

/** Decides once against a fresh store (or the given one) without applying anything. */
export function decideOnce(
  candidate: unknown,
  policy: Policy = testPolicy(),
  opts: Partial<Mutable<GateInput>> & { store?: StateStore } = {},
): Decision {
  return decide(input(candidate, opts), policy, opts.store ?? createMemoryState());
}
