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
    if (!unconditional(issue.schemaPointer, issue.path, key, contract.schema)) continue;
    const pointer = `${pointerOf(issue.path)}/${escapePointer(key)}`;
    if (templated.has(pointer)) found.add(pointer);
  }
  return [...found].sort();
}

/**
 * Whether a `required` holds of every value: the root schema names `key` there, reached from the
 * root through `properties` (the member at `path`) and `allOf` only. Anywhere else it may hold on
 * one branch only (under `anyOf`, `if`, `not`…), or the pointer names a `$ref`'s target
 * (`/$defs/A/required`), which only some branch may reach: not required of every answer.
 */
function unconditional(
  schemaPointer: string | undefined,
  path: readonly (string | number)[],
  key: string,
  schema: unknown,
): boolean {
  if (schemaPointer === undefined) return false;
  const tokens = parsePointer(schemaPointer);
  if (tokens.at(-1) !== 'required') return false;
  const members: string[] = [];
  let node = schema;
  for (let i = 0; i < tokens.length - 1; i += 2) {
    const [keyword, name] = [tokens[i], tokens[i + 1]];
    if (name === undefined || (keyword !== 'properties' && !(keyword === 'allOf' && /^\d+$/.test(name))))
      return false;
    if (keyword === 'properties') members.push(name);
    node = (node as Record<string, Record<string, unknown>> | undefined)?.[keyword]?.[name];
  }
  if (tokens.length % 2 !== 1) return false;
  const required = (node as { required?: unknown } | undefined)?.required;
  return (
    Array.isArray(required) &&
    required.includes(key) &&
    members.length === path.length &&
    members.every((m, i) => m === String(path[i]))
  );
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
