/**
 * Which members of a reply's `data` template its contract requires, found when the policy is
 * compiled: a member that is one `{{ }}` and gives nothing is left out, and where the contract
 * requires it, the answer would be quarantined as `data: {}` with the answer itself lost. Knowing
 * the required ones, the transport makes such an emission `unmapped` at that member instead, and
 * keeps the answer as evidence (docs/policy.md "Mapping templates").
 */
import type { Contract } from '../contracts/index.js';
import { parsePointer, pointerOf } from '../contracts/index.js';
import { escapePointer, type JsonValue } from '../envelope/index.js';
import { isTemplated } from './mapping.js';
import type { AgentSpec, ReplyMapping } from './types.js';

/**
 * Schema places where a `required` holds only on some branch: a member required there may be
 * left out when another branch holds, so it is not required of every answer.
 */
const CONDITIONAL = /\/(anyOf|oneOf|not|if|then|else|dependentSchemas|contains)(\/|$)/;

/**
 * The JSON pointers (into `data`, such as `/score` or `/customer/id`) of the templated members of
 * `template` that `contract` requires of every value, sorted. Literal members are checked against
 * the contract elsewhere (MW_POLICY_REPLY_CONTRACT); a template that is one `{{ }}` as a whole fails
 * when it gives nothing anyway.
 */
export function requiredMembers(template: JsonValue, contract: Contract): string[] {
  if (template === null || typeof template !== 'object' || Array.isArray(template)) return [];
  const templated = new Set<string>();
  const shape = withoutTemplated(template, '', templated);
  const found = new Set<string>();
  for (const issue of contract.validate(shape)) {
    const key = issue.params?.missingProperty;
    if (issue.keyword !== 'required' || typeof key !== 'string') continue;
    if (CONDITIONAL.test(issue.schemaPointer ?? '')) continue;
    const pointer = `${pointerOf(issue.path)}/${escapePointer(key)}`;
    if (templated.has(pointer)) found.add(pointer);
  }
  return [...found].sort();
}

/** The template with every templated object member left out (each may give nothing), noting where. */
function withoutTemplated(template: JsonValue, at: string, templated: Set<string>): JsonValue {
  if (Array.isArray(template))
    // A list item that gives nothing fails the mapping: a stand-in keeps the list's length.
    return template.map((v, i) => (isTemplated(v) ? null : withoutTemplated(v, `${at}/${i}`, templated)));
  if (template === null || typeof template !== 'object') return template;
  const out: Record<string, JsonValue> = {};
  for (const [key, value] of Object.entries(template)) {
    const pointer = `${at}/${escapePointer(key)}`;
    if (typeof value === 'string' && isTemplated(value)) {
      templated.add(pointer);
      continue;
    }
    // `__proto__` is a member like any other, not the prototype.
    Object.defineProperty(out, key, {
      value: withoutTemplated(value, pointer, templated),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/** The agents, each flowise or http reply item with the members its type's contract requires. */
export function withRequiredMembers(
  agents: ReadonlyMap<string, AgentSpec>,
  contracts: ReadonlyMap<string, Contract>,
): ReadonlyMap<string, AgentSpec> {
  const out = new Map<string, AgentSpec>();
  for (const [name, agent] of agents) {
    if (agent.reply === undefined) {
      out.set(name, agent);
      continue;
    }
    const reply = agent.reply.map((item): ReplyMapping => {
      const contract = contracts.get(item.type);
      const required = contract === undefined ? [] : requiredMembers(item.data, contract);
      return required.length === 0 ? item : { ...item, required };
    });
    out.set(name, { ...agent, reply });
  }
  return out;
}

/**
 * The first of `required` (pointers into a mapped value) that the value does not hold, or
 * undefined. A member whose parent is not an object is the contract's to refuse, not a gap.
 */
export function missingMember(value: JsonValue, required: readonly string[] | undefined): string | undefined {
  for (const pointer of required ?? []) {
    let node: JsonValue | undefined = value;
    const keys = parsePointer(pointer);
    for (const [i, key] of keys.entries()) {
      if (node === null || typeof node !== 'object' || Array.isArray(node)) break;
      const members = node as { readonly [key: string]: JsonValue };
      const next = Object.hasOwn(members, key) ? members[key] : undefined;
      if (next === undefined) {
        if (i === keys.length - 1) return pointer;
        break;
      }
      node = next;
    }
  }
  return undefined;
}
