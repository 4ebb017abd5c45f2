import { isJsonPointer, parsePointer } from '../contracts/index.js';
import { compilePredicate } from './cel.js';
import { checkPredicateTypes } from './cel-check.js';
import { type Checker, duration, isObj, labelOf, listOf, num, type Obj, shown, str } from './check.js';
import { UNIQUE_RULE_IDS } from './errors.js';
import type { Graph } from './graph.js';
import { partitionsOf } from './guards.js';
import { overShare, sharesOf } from './shares.js';
import type { Path } from './source.js';
import type { ApprovalRule, BreakerRule, Budget, FailureCount, Match, RateLimit, Scope } from './types.js';
import { parseRate } from './units.js';

/** Breaker ids the state layer uses for its own freezes. */
const RESERVED: Readonly<Record<string, string>> = {
  loop: "the loop guard's freezes",
  pilot: 'freezes made by pilots',
};

export type Rules = {
  readonly limits: readonly RateLimit[];
  readonly budgets: readonly Budget[];
  readonly breakers: readonly BreakerRule[];
  readonly approvals: readonly ApprovalRule[];
};

/** One rule being compiled: where it is, its id, and what it may refer to. */
type Ctx = {
  readonly check: Checker;
  readonly graph: Graph;
  readonly path: Path;
  readonly id: string;
  /** The parsed contract of every message type and effect that has a valid one. */
  readonly schemas: ReadonlyMap<string, unknown>;
};

/** Limits, budgets, breakers and approvals, with their ids unique across all four lists. */
export function compileRules(
  check: Checker,
  doc: Obj,
  graph: Graph,
  schemas: ReadonlyMap<string, unknown> = new Map(),
): Rules {
  const seen = new Map<string, Path>();
  const each = <T>(list: string, compile: (item: Obj, ctx: Ctx) => T): T[] => {
    const out: T[] = [];
    listOf(doc[list]).forEach((item, i) => {
      if (!isObj(item)) return;
      const path: Path = [list, i];
      const id = str(item.id) ?? '';
      const other = seen.get(id);
      if (other !== undefined)
        check.report('MW_POLICY_DUPLICATE_ID', { id, other: labelOf(other), unique: UNIQUE_RULE_IDS }, [
          ...path,
          'id',
        ]);
      else if (id !== '') seen.set(id, path);
      out.push(compile(item, { check, graph, path, id, schemas }));
    });
    return out;
  };
  const breakers = each('breakers', compileBreaker);
  warnEmptyShares(check, breakers, partitionsOf(doc), listOf(doc.breakers));
  return {
    limits: each('limits', compileLimit),
    budgets: each('budgets', compileBudget),
    breakers,
    approvals: each('approvals', compileApproval),
  };
}

/**
 * A breaker not scoped by entity trips in a partition past floor(over / P): with `over` below P
 * that share is 0, so it trips on each partition's first counted message. Legal, rarely meant.
 */
function warnEmptyShares(
  check: Checker,
  breakers: readonly BreakerRule[],
  partitions: number,
  written: readonly unknown[],
): void {
  for (const rule of breakers) {
    const shares = sharesOf({ partitions }, rule.scope);
    if (shares === 1 || overShare(rule.over, shares) > 0) continue;
    // Where it is written: compiling skips items that are not maps, so indexes may differ.
    const i = written.findIndex((item) => isObj(item) && str(item.id) === rule.id);
    const params = { id: rule.id, scope: rule.scope, over: rule.over, partitions };
    check.warn('MW_POLICY_EMPTY_SHARE', params, ['breakers', i, 'when', 'over']);
  }
}

function compileLimit(item: Obj, { check, graph, path, id }: Ctx): RateLimit {
  const rate = parseRate(item.rate);
  if (rate === undefined && item.rate !== undefined) {
    const at = [...path, 'rate'];
    check.report('MW_POLICY_BAD_RATE', { where: labelOf(at), value: shown(item.rate) }, at);
  }
  const m = isObj(item.match) ? item.match : {};
  const match: { -readonly [K in keyof Match]: Match[K] } = {};
  const refer = (key: keyof Match, found: boolean, why: string) => {
    const name = str(m[key]);
    if (name === undefined) return;
    match[key] = name;
    if (!found) unknown(check, `limit ${id}`, `matches ${key}`, name, why, [...path, 'match', key]);
  };
  const type = str(m.type) ?? '';
  const source = str(m.source) ?? '';
  refer('type', isKnownType(graph, type), 'no agent, ingress or effect uses that type');
  refer('source', graph.agents.has(source) || graph.ingress.has(source), 'no agent or ingress has that name');
  refer('target', graph.agents.has(str(m.target) ?? ''), 'no agent has that name');
  const count = rate?.count ?? 1;
  const limit = {
    id,
    scope: scopeOf(item.scope),
    intervalMs: (rate?.perMs ?? 1000) / count,
    burst: num(item.burst, count),
    rate: str(item.rate) ?? '',
  };
  return Object.keys(match).length > 0 ? { ...limit, match } : limit;
}

function compileBudget(item: Obj, { check, graph, path, id }: Ctx): Budget {
  const effect = str(item.effect);
  const type = str(item.type);
  if ((effect === undefined) === (type === undefined)) {
    const found = effect === undefined ? 'neither' : 'both';
    check.report('MW_POLICY_EXCLUSIVE', { where: `budget ${id}`, keys: 'effect or type', found }, path);
  }
  if (effect !== undefined && !graph.effects.has(effect)) {
    const why = 'it is not declared under effects';
    unknown(check, `budget ${id}`, 'sums effect', effect, why, [...path, 'effect']);
  }
  if (type !== undefined && !graph.messageTypes.has(type)) {
    const why = 'no agent or ingress sends or receives it';
    unknown(check, `budget ${id}`, 'sums type', type, why, [...path, 'type']);
  }
  const field = str(item.field);
  const fieldOk = field !== undefined && field !== '' && isJsonPointer(field);
  if (!fieldOk && item.field !== undefined) {
    const at = [...path, 'field'];
    check.report('MW_POLICY_BAD_POINTER', { where: labelOf(at), value: shown(item.field) }, at);
  }
  return {
    id,
    scope: scopeOf(item.scope),
    type: effect ?? type ?? '',
    field: field ?? '',
    fieldPath: fieldOk ? parsePointer(field) : [],
    max: num(item.max, 0),
    windowMs: duration(check, item.window, [...path, 'window']),
  };
}

function compileBreaker(item: Obj, { check, graph, path, id }: Ctx): BreakerRule {
  const use = RESERVED[id];
  if (use !== undefined) check.report('MW_POLICY_RESERVED_ID', { id, use }, [...path, 'id']);
  const when = isObj(item.when) ? item.when : {};
  const written = COUNTED.filter((key) => when[key] !== undefined);
  // With none written, a key the shape check reported unknown (a typo like `failure`) says enough.
  const typo = Object.keys(when).some((k) => !['over', 'window', ...COUNTED].includes(k));
  if (isObj(item.when) && (written.length > 1 || (written.length === 0 && !typo))) {
    const found = written.length === 0 ? 'none' : written.join(' and ');
    const where = `breaker ${id} when`;
    check.report('MW_POLICY_EXCLUSIVE', { where, keys: 'count, failures or deadLetters', found }, [
      ...path,
      'when',
    ]);
  }
  const counted = written[0] ?? 'count';
  const count = str(when[counted]) ?? '';
  const at = [...path, 'when', counted];
  const failures = counted === 'count' ? undefined : failureCount(check, graph, id, counted, count, at);
  if (counted === 'count' && count !== '' && !isKnownType(graph, count)) {
    const why = 'it is neither a message type of this mesh nor a declared effect';
    unknown(check, `breaker ${id}`, 'counts', count, why, at);
  }
  const rule = {
    id,
    scope: scopeOf(item.scope),
    count,
    ...(failures === undefined ? {} : { failures }),
    over: num(when.over, 0),
    windowMs: duration(check, when.window, [...path, 'when', 'window']),
    action: item.action === 'deny' ? ('deny' as const) : ('freeze' as const),
  };
  if (item.cooldown === undefined) return rule;
  return { ...rule, cooldownMs: duration(check, item.cooldown, [...path, 'cooldown']) };
}

/** What a breaker's `when` may count: admitted messages, failed tries, or dead letters. */
const COUNTED = ['count', 'failures', 'deadLetters'] as const;

/** A failure breaker counts the failures of one declared effect or one agent. */
function failureCount(
  check: Checker,
  graph: Graph,
  id: string,
  kind: 'failures' | 'deadLetters',
  name: string,
  at: Path,
): FailureCount | undefined {
  if (name === '') return undefined;
  const effect = graph.effects.has(name);
  const agent = graph.agents.has(name);
  const verb = kind === 'failures' ? 'counts failures of' : 'counts dead letters of';
  if (effect && agent) {
    check.report('MW_POLICY_AMBIGUOUS_NAME', { who: `breaker ${id}`, verb, name }, at);
  } else if (!effect && !agent) {
    const why = 'it is neither a declared effect nor an agent (failures are counted per effect or per agent)';
    unknown(check, `breaker ${id}`, verb, name, why, at);
  }
  return { kind, worker: effect ? `effect:${name}` : name };
}

function compileApproval(item: Obj, { check, graph, path, id, schemas }: Ctx): ApprovalRule {
  const when = str(item.when);
  const at = [...path, 'when'];
  const where = labelOf(at);
  const compiled = when === undefined ? undefined : compilePredicate(when);
  if (item.when !== undefined && compiled?.ok !== true) {
    if (compiled === undefined) {
      const reason = "write it as text, like 'msg.data.amount > 50'";
      check.report('MW_POLICY_BAD_CEL', { where, reason, hint: '' }, at);
    } else {
      const { reason, hint, offset } = compiled;
      check.reportIn('MW_POLICY_BAD_CEL', { where, reason, hint }, at, offset);
    }
  }
  if (when !== undefined && compiled?.ok === true) checkTypes(when, { check, graph, path, id, schemas });
  return {
    id,
    when: when ?? '',
    // A predicate that did not compile was reported, so no Policy is ever built with this stand-in.
    test: compiled?.ok === true ? compiled.test : () => false,
    timeoutMs: duration(check, item.timeout, [...path, 'timeout']),
    onTimeout: item.onTimeout === 'deliver' ? 'deliver' : 'deny',
  };
}

/** The predicate against the contracts of the types it can see (cel-check.ts); `when` compiled. */
function checkTypes(when: string, { check, graph, path, id, schemas }: Ctx): void {
  const at = [...path, 'when'];
  const where = labelOf(at);
  // Types with a contract that failed to compile are left out: that mistake is reported already.
  const types = [...graph.messageTypes, ...graph.effects.keys()];
  const known = new Map(types.flatMap((t) => (schemas.has(t) ? [[t, schemas.get(t)] as const] : [])));
  const typed = checkPredicateTypes(when, known);
  for (const { name, offset } of typed.unknownTypes) {
    if (isKnownType(graph, name)) continue;
    const why = 'no agent, ingress or effect uses that type, so that comparison never holds';
    check.reportIn(
      'MW_POLICY_UNKNOWN_REFERENCE',
      { who: `approval ${id}`, verb: 'compares msg.type with', name, why },
      at,
      offset,
    );
  }
  if (typed.error !== undefined) {
    const { types: failing, reason, hint, offset } = typed.error;
    const what =
      failing.length === 1
        ? `every ${failing[0]} message, the only type it can match`
        : `every message of the ${failing.length} types it can match (${failing.join(', ')})`;
    check.reportIn('MW_POLICY_CEL_TYPE', { where, what, reason, hint }, at, offset);
  }
  if (typed.warning !== undefined) {
    const { types: failing, reason, hint, offset } = typed.warning;
    const fine = typed.seen.filter((t) => !failing.includes(t));
    const narrow =
      fine.length === 1
        ? `msg.type == "${fine[0]}"`
        : `msg.type in [${fine.map((t) => `"${t}"`).join(', ')}]`;
    check.reportIn(
      'MW_POLICY_CEL_TYPE_SOME',
      { where, types: failing.join(', '), reason, hint, narrow },
      at,
      offset,
      true,
    );
  }
}

function isKnownType(graph: Graph, type: string): boolean {
  return graph.messageTypes.has(type) || graph.effects.has(type);
}

function unknown(check: Checker, who: string, verb: string, name: string, why: string, path: Path): void {
  check.report('MW_POLICY_UNKNOWN_REFERENCE', { who, verb, name, why }, path);
}

function scopeOf(value: unknown): Scope {
  return value === 'agent' || value === 'edge' || value === 'mesh' ? value : 'entity';
}
