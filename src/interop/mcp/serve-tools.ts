import { createHash } from 'node:crypto';
import type { JsonValue, LedgerEntry, Policy } from '../../runtime/index.js';

/**
 * One MCP tool of the mesh: sending a root message of `type` through `ingress`, published by type,
 * or, for an agent the policy exposes, through its `via` ingress addressed to it (`target`).
 */
export type MeshTool = {
  /** `<ingress>__<type>` or `<agent>__<type>`, every character outside `[A-Za-z0-9_-]` made `_` (see toolName). */
  readonly name: string;
  readonly ingress: string;
  readonly type: string;
  /** The exposed agent the message is addressed to; undefined for an ingress's tool. */
  readonly target?: string;
  readonly description: string;
  /** `{subject, data}`, `data` being the type's contract schema (`{type: object}` without one). */
  readonly inputSchema: { readonly [key: string]: JsonValue };
};

/** What a tool call answers, in the shape of an MCP `CallToolResult`. */
export type MeshToolResult = {
  content: { type: 'text'; text: string }[];
  structuredContent: { [key: string]: JsonValue };
  isError?: true;
};

/** The longest name the LLM APIs that most clients feed take (`^[a-zA-Z0-9_-]{1,64}$`). */
const MAX_NAME = 64;

/**
 * The tool name for an (ingress, type) pair: `inbox` + `ticket.opened.v1` → `inbox__ticket_opened_v1`.
 * MCP allows dots, but the LLM APIs behind most clients do not, so only letters, digits, `_` and
 * `-` are used; a name over 64 characters is cut and ends with 8 hex digits of its hash.
 */
export function toolName(ingress: string, type: string): string {
  const name = `${ingress}__${type}`.replace(/[^A-Za-z0-9_-]/g, '_');
  if (name.length <= MAX_NAME) return name;
  const hash = createHash('sha256').update(`${ingress}\n${type}`).digest('hex').slice(0, 8);
  return `${name.slice(0, MAX_NAME - 9)}-${hash}`;
}

/**
 * The tools for a policy, in its order: one per type each ingress emits, then one per type each
 * exposed agent takes from its `via` ingress. Two that would get the same name (`a.b` and `a_b`)
 * keep it apart with `-2`, `-3`, … on the later ones. A partner is given only the exposed agents'.
 */
export function meshTools(policy: Policy): MeshTool[] {
  const pairs: { from: string; ingress: string; type: string; target?: string }[] = [];
  for (const [ingress, spec] of policy.ingress)
    for (const type of spec.emits) pairs.push({ from: ingress, ingress, type });
  for (const [agent, spec] of policy.agents) {
    const via = spec.expose === undefined ? undefined : policy.ingress.get(spec.expose.via);
    for (const type of via?.emits ?? []) {
      if (spec.consumes.includes(type)) pairs.push({ from: agent, ingress: via!.name, type, target: agent });
    }
  }
  const tools: MeshTool[] = [];
  const taken = new Set<string>();
  for (const { from, ingress, type, target } of pairs) {
    const base = toolName(from, type);
    let name = base;
    for (let i = 2; taken.has(name); i++) name = `${base.slice(0, MAX_NAME - 1 - String(i).length)}-${i}`;
    taken.add(name);
    const contract = policy.contracts.get(type);
    const title = typeof contract?.schema.title === 'string' ? ` (${contract.schema.title})` : '';
    const to =
      target === undefined
        ? `through ingress ${ingress}`
        : `to agent ${target} (through ingress ${ingress}, addressed to ${target} alone)`;
    tools.push({
      name,
      ingress,
      type,
      ...(target === undefined ? {} : { target }),
      description:
        `Send a ${type} message${title} into mesh ${policy.mesh} ${to}. ` +
        'It passes the gate like any other: it is delivered, denied, quarantined, or held for a pilot, ' +
        'and recorded in the ledger either way. `subject` names the entity it is about (account:8841); ' +
        `\`data\` must match the ${type} contract.`,
      inputSchema: {
        type: 'object',
        properties: {
          subject: { type: 'string', minLength: 1, description: 'The entity the message is about' },
          data: contract === undefined ? { type: 'object' } : withoutDialect(contract.schema),
        },
        required: ['subject', 'data'],
        additionalProperties: false,
      },
    });
  }
  return tools;
}

/** The contract schema without `$schema` and `$id`, which mean nothing nested inside another schema. */
function withoutDialect(schema: { readonly [key: string]: JsonValue }): { [key: string]: JsonValue } {
  const { $schema: _, $id: __, ...rest } = schema;
  return rest;
}

/**
 * A decision entry as a tool result. Delivered and held are answers (a hold names the id a pilot
 * approves); denied and quarantined are `isError`, with the verdict's reason and sentence, so the
 * model sees that the mesh refused and why.
 */
export function toolResult(entry: LedgerEntry, tool: MeshTool): MeshToolResult {
  const verdict = (entry.data as { verdict: { decision: string; reason: string; detail: string } }).verdict;
  const id = entry.msgId ?? '';
  const structuredContent = { id, decision: verdict.decision, reason: verdict.reason };
  const say = (text: string) => [{ type: 'text' as const, text }];
  switch (verdict.decision) {
    case 'deliver':
      return {
        content: say(
          `Delivered ${tool.type} ${id} ${tool.target === undefined ? `through ${tool.ingress}` : `to ${tool.target}`}.`,
        ),
        structuredContent,
      };
    case 'hold':
      return {
        content: say(
          `Held ${tool.type} ${id}: it waits for a pilot to approve or reject it (${verdict.reason}: ${verdict.detail})`,
        ),
        structuredContent,
      };
    default:
      return {
        isError: true,
        content: say(
          `The mesh ${verdict.decision === 'deny' ? 'denied' : 'quarantined'} ${tool.type} ${id} (${verdict.reason}): ${verdict.detail}`,
        ),
        structuredContent: { ...structuredContent, detail: verdict.detail },
      };
  }
}
