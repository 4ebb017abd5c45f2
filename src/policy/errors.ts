import { fillTemplate, makeError } from '../envelope/index.js';

/**
 * Every code of the policy layer with its sentence template (`{name}` placeholders). Policy issues
 * take their message from here, so each code has one wording. Callers check `code`.
 */
export const POLICY_ERRORS = {
  MW_POLICY_READ: 'cannot read the mesh file: {reason}',
  MW_POLICY_PATTERN_NOT_RE2: 'the pattern {pattern} is not a regular expression CEL takes (RE2): {reason}',
  MW_POLICY_PARSE: 'YAML syntax error: {detail}',
  MW_POLICY_TOO_DEEP: 'the mesh file nests deeper than {max} levels here; no mesh file needs that many',
  MW_POLICY_YAML_WARNING: 'YAML warning: {detail}',
  MW_POLICY_UNKNOWN_KEY: '"{key}" is not a known key of {where}{hint}',
  MW_POLICY_MISSING_KEY: '{where} needs the key "{key}"',
  MW_POLICY_TYPE: '{where} must be {expected}, not {actual}{hint}',
  MW_POLICY_BAD_VALUE: '{where} {problem}',
  MW_POLICY_BAD_NAME: '{what} "{name}" is not a valid name: {rule}',
  MW_POLICY_BAD_DURATION:
    '{where} is {value}, which is not a duration: write a whole number above zero and a unit, like 500ms, 30s, 10m, 1h or 7d',
  MW_POLICY_BAD_RATE:
    '{where} is {value}, which is not a rate: write a whole number above zero, "/" and a unit, like 5/s, 30/min, 100/h or 1000/d',
  MW_POLICY_BAD_POINTER:
    '{where} is {value}, which is not a JSON pointer into the payload: write it like /amount or /order/total',
  MW_POLICY_BAD_CEL: '{where} is not a valid CEL predicate: {reason}{hint}',
  MW_POLICY_CEL_TYPE:
    '{where} fails on {what}, so each would be held for a pilot as a predicate error: {reason}{hint}',
  MW_POLICY_CEL_TYPE_SOME:
    '{where} fails on {types} messages ({reason}{hint}), so each would be held for a pilot as a predicate error; if the rule is not meant for them, start it with {narrow} &&',
  MW_POLICY_BAD_KEY: 'agents.{agent}.publicKey is not an Ed25519 public key in PEM form: {reason}',
  MW_POLICY_AGENT_TRANSPORT:
    'agent {agent} must have exactly one of module, url, a2a, flowise or http; it has {found}',
  MW_POLICY_MAPPING_TRANSPORT:
    'agents.{agent}.{key} maps what a flowise or http agent is sent or answers, but agent {agent} is reached through {transport}, which sends and receives envelopes as they are; remove {key}',
  MW_POLICY_MAPPING: '{where} is not a valid mapping: {problem}',
  MW_POLICY_REPLY_TYPE:
    "{where} is {type}, which agent {agent} does not emit: a reply becomes one of the agent's emissions; add {type} to its emits, or write one of {emits}",
  MW_POLICY_REPLY_NEEDED:
    'agent {agent} emits {emits}, so its answer cannot be turned into one of them by default; write reply: with the type (and a when:) of each',
  MW_POLICY_REPLY_UNUSED:
    'agent {agent} emits nothing, so its reply mapping is never used (its answers are recorded as delivered); add the type to emits, or remove reply',
  MW_POLICY_REPLY_CONTRACT:
    '{where} does not fit the contract of {type}: {problem}; every reply would be quarantined',
  MW_POLICY_EFFECT_TRANSPORT:
    'effect {effect} must have one executor, module or mcp (with tool); it has {found}',
  MW_POLICY_MCP_SERVER:
    'effects.{effect}.mcp is {value}, which is not an MCP server: {reason}; write an http(s) URL or a command line, like node ./mcp/crm-server.mjs',
  MW_POLICY_EXCLUSIVE: '{where} must name exactly one of {keys}; it names {found}',
  MW_POLICY_UNKNOWN_REFERENCE: '{who} {verb} "{name}", but {why}',
  MW_POLICY_AMBIGUOUS_NAME:
    '{who} {verb} "{name}", which names both an agent and an effect; rename one of them so the breaker says whose failures it counts',
  MW_POLICY_KIND_CONFLICT:
    '{who} {verb} "{name}", which is declared under effects: an effect is requested through an agent\'s effects list, not sent as a message',
  MW_POLICY_AUTH_LOCAL:
    '{who} runs in the process: auth is the credential of {remote}, so it has nothing to send it to',
  MW_POLICY_EXPOSED_UNREACHABLE:
    'agent {agent} is exposed through ingress {via}, which emits {emits}, but it consumes {consumes}: nothing a caller sends could reach it; have {via} emit a type {agent} consumes',
  MW_POLICY_DUPLICATE_NAME: '"{name}" is both an agent and an ingress; every sender needs its own name',
  MW_POLICY_DUPLICATE_ID: 'id "{id}" is already used by {other}; {unique}',
  MW_POLICY_RESERVED_ID: 'breaker id "{id}" is reserved for {use}; choose another id',
  MW_POLICY_MISSING_CONTRACT: 'there is no contract for {kind} {type}: {file} {why}{hint}',
  MW_POLICY_TOOL_SCHEMA:
    'effect {effect} has no contract file, and the input schema of its tool {tool} cannot be read from MCP server {server}: {reason}; {fix}, or write the contract as {file}',
  MW_POLICY_TOOL_CONTRACT:
    'effect {effect} takes its contract from the input schema of tool {tool} of MCP server {server}, which is not a valid JSON Schema (2020-12 or draft-07) {where}: {reason}; fix the tool, or write the contract as {file}',
  MW_POLICY_CONTRACT_JSON: 'the contract for {type} is not valid JSON: {reason}',
  MW_POLICY_CONTRACT_SCHEMA: 'the contract for {type} is not a valid JSON Schema 2020-12: {reason}',
  MW_POLICY_PATTERN_BACKTRACKS:
    'contract {type}: the pattern {pattern} cannot run on the linear-time engine and repeats inside a repetition (or repeats alternatives), so a message could make it run for minutes; write the outer repetition as * or + (the linear engine takes those), or drop the inner one',
  MW_POLICY_PATTERN_SLOW:
    'contract {type}: the pattern {pattern} cannot run on the linear-time engine and repeats without bound, so a long hostile text takes time that grows with its square; use a bounded repetition ({1,64}) or a pattern the linear engine takes (no \\p{…}, no lookaround or backreference)',
  MW_POLICY_CONTRACT_TOO_DEEP:
    "the contract for {type} nests deeper than {max} levels (brackets open at once), so it is refused before it is compiled; no payload needs that much, since a message's data nests at most {payload} levels",
  MW_POLICY_HELD_TYPE_REMOVED:
    '{kind} {type} is not in this policy, but {count} {holds} for a pilot: approved under this policy, {them} would find {target} and be dead-lettered; answer {them} first (meshwarden approvals), or keep {type}{beside} until none waits',
  MW_POLICY_MISSING_MODULE: '{who} module {module} does not exist (looked for {absolute})',
  MW_POLICY_NO_EXECUTOR:
    'effect {name} has no module or mcp, so requests for it are recorded but nothing executes them',
  MW_POLICY_MAPPING_BRACES:
    "{where} has a }} that closes no {{, so it is sent as text as written; a site is written with two braces on each side, like '{{ {example} }}'",
  MW_POLICY_REQUEST_FIELD:
    '{where} reads {read}, which no contract of what it consumes ({types}) names, so it always gives nothing there (a member is left out, a text fails, a condition takes its other branch): {hint}',
  MW_POLICY_UNCONSUMED: '{type} is emitted but no agent consumes it, so it is recorded and goes nowhere',
  MW_POLICY_EMPTY_SHARE:
    "breaker {id} is {scope}-scoped with over: {over}, and each of partitions: {partitions} trips past its share, floor({over} / {partitions}) = 0: it opens on a partition's first counted message; write over: {partitions} or more, or scope it by entity",
} as const;

export type PolicyCode = keyof typeof POLICY_ERRORS;

/** A policy code as a thrown error: a predicate's pattern from a message that RE2 refuses (cel-regex.ts). */
export const policyError = makeError(POLICY_ERRORS);

export type PolicyParams = Readonly<Record<string, string | number>>;

/** The sentence of a code with its placeholders filled in. */
export function policyMessage(code: PolicyCode, params: PolicyParams): string {
  return fillTemplate(POLICY_ERRORS[code], params);
}

/** What MW_POLICY_DUPLICATE_ID says must be unique: the rules' ids share one space, alert routes' another. */
export const UNIQUE_RULE_IDS =
  'ids of limits, budgets, breakers, approvals and drift monitors must be unique';
export const UNIQUE_ROUTE_IDS =
  'alert route ids must be unique among routes (a route may share an id with a rule)';
