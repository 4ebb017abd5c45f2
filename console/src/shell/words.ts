// Plain words for the warden's codes, so a pilot who is not a programmer can read every view. The
// codes stay visible (small, and on hover) for whoever searches the logs: see CodeWords.tsx.

/** The gate's stages, in the order they run, as a pilot names them. */
export const STAGE_WORDS: Record<string, string> = {
  ingress: 'Way in',
  envelope: 'Identity check',
  authorization: 'Permission check',
  contract: 'Content check',
  loop: 'Loop guard',
  'rate-limit': 'Rate limit',
  budget: 'Budget',
  breaker: 'Breaker',
  approval: 'Approval rule',
  gate: 'All checks',
  pilot: 'Pilot',
};

/** Each stop of the gate, by its `reason` code: what happened, in one short phrase. */
const REASON_WORDS: Record<string, string> = {
  'gate.admitted': 'passed every check',
  'approval.required': 'waits for a pilot to approve it',
  'approval.predicate_error': 'its approval rule could not be checked, so a pilot decides',
  'authorization.effect_not_allowed': 'this agent may not ask for that side effect',
  'authorization.ingress_effect': 'a way in cannot ask for a side effect',
  'authorization.not_emitter': 'this sender may not send this kind of message',
  'authorization.partner_not_exposed': 'an outside caller tried to reach something not open to it',
  'authorization.target_not_consumer': 'the addressed agent does not take this kind of message',
  'authorization.unknown_target': 'addressed to an agent the mesh does not have',
  'authorization.unknown_type': 'a kind of message the mesh does not know',
  'breaker.frozen': 'its subject is frozen',
  'breaker.open': 'a breaker is open for it',
  'breaker.tripped': 'this one was one too many: the breaker opened',
  'budget.exceeded': 'over its budget',
  'budget.field_not_number': 'the amount to count is not a number',
  'budget.negative_value': 'the amount to count is negative',
  'contract.invalid_payload': 'its content does not match its contract',
  'contract.validator_error': 'its content could not be checked',
  'envelope.causation_mismatch': 'it names a cause that does not fit',
  'envelope.duplicate_id': 'the same message arrived twice',
  'envelope.foreign_mesh': 'it belongs to another mesh',
  'envelope.id_taken': 'its id is already used by another message',
  'envelope.ingress_versioned': 'a way in sent it with an agent version',
  'envelope.late_emit': 'sent after its handler had finished',
  'envelope.malformed': 'not a well-formed message',
  'envelope.not_json': 'not JSON',
  'envelope.signature_invalid': 'its signature does not check out',
  'envelope.signature_missing': 'it is not signed, and must be',
  'envelope.source_mismatch': 'its sender is not who it claims to be',
  'envelope.too_deep': 'nested too deeply',
  'envelope.too_large': 'too large',
  'envelope.unknown_source': 'from a sender the mesh does not know',
  'envelope.unmapped': "the agent's answer could not be turned into a message",
  'envelope.version_mismatch': 'from an agent version the mesh does not run',
  'ingress.bad_line': 'an input line that could not be read',
  'ingress.malformed_json': 'an input line that is not JSON',
  'ingress.line_too_large': 'an input line that is too large',
  'loop.repeated_hop': "the same step repeated in this case's history",
  'loop.too_many_hops': 'its case grew too long (too many steps)',
  'loop.unverified_causation': 'it claims to answer something the mesh never sent',
  'rate-limit.exceeded': 'too many, too fast',
};

/** Each kind of ledger entry, as a list names it. */
const ENTRY_KIND_WORDS: Record<string, string> = {
  decision: 'Decision',
  delivered: 'Handed to an agent',
  'delivery.failed': 'Delivery failed',
  'dead-letter': 'Given up (dead letter)',
  'effect.executed': 'Side effect carried out',
  'hold.released': 'Hold answered',
  'pilot.action': 'Pilot action',
  'breaker.opened': 'Breaker opened',
  'policy.loaded': 'Policy put in force',
  'partition.owned': 'Partition taken over',
  'alert.sent': 'On-call told',
};

/** "Hold answered", from `hold.released`; an unknown kind as it is. */
export function entryKindWords(kind: string): string {
  return ENTRY_KIND_WORDS[kind] ?? kind;
}

/** What a hold's reason says once the hold is answered or its cause is gone: the past tense. */
const PAST_WORDS: Record<string, string> = {
  'approval.required': 'waited for a pilot to approve it',
  'approval.predicate_error': 'its approval rule could not be checked, so a pilot decided',
  'breaker.frozen': 'its subject was frozen',
  'breaker.open': 'a breaker was open for it',
};

/**
 * "Loop guard: the same step repeated in this case's history", from `loop.repeated_hop`. A breaker's
 * stop names the breaker (`rule`): a pilot's freeze, the loop guard and a policy breaker differ.
 */
export function reasonWords(reason: string, stage?: string, rule?: string | null, past = false): string {
  const phrase = (past ? PAST_WORDS[reason] : undefined) ?? REASON_WORDS[reason];
  const byBreaker = reason.startsWith('breaker.') && rule !== undefined && rule !== null;
  const stageName = byBreaker ? breakerTitle(rule) : STAGE_WORDS[stage ?? reason.split('.')[0] ?? ''];
  if (phrase === undefined) {
    if (reason.startsWith('ingress.body_')) return 'Way in: a request body that could not be taken';
    return stageName ?? reason;
  }
  if (stageName === undefined || reason === 'gate.admitted') return capital(phrase);
  return `${stageName}: ${phrase}`;
}

function breakerTitle(rule: string): string {
  const name = breakerWords(rule);
  return name === rule ? `Breaker ${rule}` : name;
}

/** The stage alone, in words. */
export function stageWords(stage: string): string {
  return STAGE_WORDS[stage] ?? stage;
}

/** Breakers the warden opens itself, by id: the loop guard's and a pilot's freeze. */
export function breakerWords(id: string): string {
  if (id === 'loop') return 'Loop guard';
  if (id === 'pilot') return 'Pilot freeze';
  return id;
}

/** Who a freeze is by, after "frozen by": the loop guard, the pilot by name (`by`), or breaker `id`. */
export function frozenByWords(id: string, by?: string): string {
  if (id === 'loop') return 'the loop guard';
  if (id === 'pilot') return by?.startsWith('pilot:') === true ? agentName(by) : 'a pilot';
  return `breaker ${id}`;
}

/**
 * An agent, sender or worker the way a pilot names it: `sentiment 1.4.0` for
 * `mesh://retention/sentiment@1.4.0`, `agent:churn` or `churn@2.0.1`; `inbox (way in)` for an
 * ingress; `pilot ana` for `pilot:ana`; an effect by its name.
 */
export function agentName(raw: string | null | undefined): string {
  if (raw === null || raw === undefined || raw === '') return '—';
  let name = raw;
  const uri = /^mesh:\/\/[^/]+\/(.+)$/.exec(name);
  if (uri !== null) name = uri[1]!;
  const prefixed = /^(agent|ingress|effect|pilot|partner|mcp|a2a|breaker):(.+)$/.exec(name);
  if (prefixed !== null) {
    const [, kind, rest] = prefixed;
    if (kind === 'agent') name = rest!;
    else if (kind === 'ingress') return `${rest} (way in)`;
    else if (kind === 'effect') return `${rest} (side effect)`;
    else if (kind === 'breaker') return `breaker ${rest}`;
    else return `${kind === 'pilot' ? 'pilot' : `${kind} caller`} ${rest}`;
  }
  const at = name.lastIndexOf('@');
  return at > 0 ? `${name.slice(0, at)} ${name.slice(at + 1)}` : name;
}

function capital(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
