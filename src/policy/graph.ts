import { createPublicKey } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { errorText } from '../envelope/index.js';
import { type Checker, entriesOf, isObj, labelOf, type Obj, shown, str, stringsOf } from './check.js';
import { compileMappedAgent, innerAuth } from './mapped-agents.js';
import { compileMcpServer } from './mcp-server.js';
import type { Path } from './source.js';
import type { AgentSpec, EffectSpec, IngressSpec, RemoteAuth } from './types.js';

/** The mesh's senders, receivers and effects, and the types that flow between them. */
export type Graph = {
  readonly agents: ReadonlyMap<string, AgentSpec>;
  readonly effects: ReadonlyMap<string, EffectSpec>;
  readonly ingress: ReadonlyMap<string, IngressSpec>;
  /** Message type → the agents that consume it, in file order. */
  readonly consumers: ReadonlyMap<string, readonly string[]>;
  /** Every message type an agent or ingress consumes or emits. */
  readonly messageTypes: ReadonlySet<string>;
  /** Where each message type and effect is first named in the file. */
  readonly mentions: ReadonlyMap<string, Path>;
};

/** How an agent is reached: exactly one per agent. */
export const TRANSPORTS = ['module', 'url', 'a2a', 'flowise', 'http'] as const;

/** Builds the graph and checks its edges: every consumed type has a sender, every effect is declared. */
export function compileGraph(check: Checker, doc: Obj): Graph {
  const dir = dirname(check.mesh.path);
  const mentions = new Map<string, Path[]>();
  const mention = (name: string, path: Path) => mentions.set(name, [...(mentions.get(name) ?? []), path]);

  const effects = new Map<string, EffectSpec>();
  for (const [name, spec] of entriesOf(doc.effects)) {
    mention(name, ['effects', name]);
    if (spec === null || isObj(spec)) effects.set(name, compileEffect(check, name, spec ?? {}, dir));
    else effects.set(name, { name });
  }

  const ingress = new Map<string, IngressSpec>();
  for (const [name, spec] of entriesOf(doc.ingress)) {
    const emits = isObj(spec) ? stringsOf(spec.emits) : [];
    for (const [type, i] of emits) mention(type, ['ingress', name, 'emits', i]);
    ingress.set(name, { name, emits: emits.map(([t]) => t) });
  }

  const agents = new Map<string, AgentSpec>();
  for (const [name, spec] of entriesOf(doc.agents)) {
    if (!isObj(spec)) continue;
    const agent = compileAgent(check, name, spec, dir);
    for (const list of ['consumes', 'emits', 'effects'] as const) {
      for (const [type, i] of stringsOf(spec[list])) mention(type, ['agents', name, list, i]);
    }
    agents.set(name, agent);
    if (ingress.has(name)) check.report('MW_POLICY_DUPLICATE_NAME', { name }, ['ingress', name], 'key');
  }

  const emitted = new Set<string>([...ingress.values()].flatMap((s) => s.emits));
  for (const agent of agents.values()) for (const t of agent.emits) emitted.add(t);
  const messageTypes = new Set<string>(emitted);
  const consumers = new Map<string, string[]>();
  for (const agent of agents.values()) {
    for (const type of agent.consumes) {
      messageTypes.add(type);
      consumers.set(type, [...(consumers.get(type) ?? []), agent.name]);
    }
  }
  checkEdges(check, doc, effects, emitted);
  checkExposed(check, agents, ingress);
  for (const type of emitted) {
    if (!consumers.has(type) && !effects.has(type)) {
      check.warn('MW_POLICY_UNCONSUMED', { type }, first(check, mentions.get(type)!));
    }
  }
  const firstMentions = new Map<string, Path>();
  for (const [name, paths] of mentions) firstMentions.set(name, first(check, paths));
  return { agents, effects, ingress, consumers, messageTypes, mentions: firstMentions };
}

/** Every consumed type has a sender, every requested effect is declared, no effect travels as a message. */
function checkEdges(
  check: Checker,
  doc: Obj,
  effects: ReadonlyMap<string, EffectSpec>,
  emitted: ReadonlySet<string>,
) {
  const conflict = (who: string, verb: string, name: string, path: Path) =>
    check.report('MW_POLICY_KIND_CONFLICT', { who, verb, name }, path);
  const unknown = (who: string, verb: string, name: string, why: string, path: Path) =>
    check.report('MW_POLICY_UNKNOWN_REFERENCE', { who, verb, name, why }, path);
  for (const [name, spec] of entriesOf(doc.agents)) {
    if (!isObj(spec)) continue;
    const who = `agent ${name}`;
    const at = (list: string, i: number): Path => ['agents', name, list, i];
    for (const [type, i] of stringsOf(spec.consumes)) {
      if (effects.has(type)) conflict(who, 'consumes', type, at('consumes', i));
      else if (!emitted.has(type))
        unknown(who, 'consumes', type, 'no agent or ingress emits it', at('consumes', i));
    }
    for (const [type, i] of stringsOf(spec.emits)) {
      if (effects.has(type)) conflict(who, 'emits', type, at('emits', i));
    }
    for (const [effect, i] of stringsOf(spec.effects)) {
      if (!effects.has(effect)) {
        unknown(who, 'requests effect', effect, 'it is not declared under effects', at('effects', i));
      }
    }
  }
  for (const [name, spec] of entriesOf(doc.ingress)) {
    for (const [type, i] of stringsOf(isObj(spec) ? spec.emits : undefined)) {
      if (effects.has(type)) conflict(`ingress ${name}`, 'emits', type, ['ingress', name, 'emits', i]);
    }
  }
}

/** One executor or none (recorded, not executed): a module, or a tool of an MCP server. */
function compileEffect(check: Checker, name: string, spec: Obj, dir: string): EffectSpec {
  const module = str(spec.module);
  const server = str(spec.mcp);
  const tool = str(spec.tool);
  const at: Path = ['effects', name];
  if (module !== undefined && spec.mcp !== undefined)
    check.report('MW_POLICY_EFFECT_TRANSPORT', { effect: name, found: 'both' }, at, 'key');
  else if (spec.tool !== undefined && spec.mcp === undefined)
    check.report('MW_POLICY_EFFECT_TRANSPORT', { effect: name, found: 'tool without mcp' }, at, 'key');
  else if (spec.mcp !== undefined && spec.tool === undefined)
    check.report('MW_POLICY_MISSING_KEY', { where: labelOf(at), key: 'tool' }, at, 'key');
  else if (module === undefined && spec.mcp === undefined)
    check.warn('MW_POLICY_NO_EXECUTOR', { name }, at, 'key');
  let mcp: EffectSpec['mcp'];
  if (server !== undefined) {
    const compiled = compileMcpServer(server, dir);
    if (!compiled.ok) {
      const params = { effect: name, value: shown(server), reason: compiled.reason };
      check.report('MW_POLICY_MCP_SERVER', params, [...at, 'mcp']);
    } else if (tool !== undefined) {
      const auth = authOf(spec.auth);
      mcp = {
        server: compiled.server,
        tool,
        ...(compiled.url === undefined ? {} : { url: compiled.url }),
        ...(compiled.command === undefined ? {} : { command: compiled.command }),
        ...(auth === undefined ? {} : { auth }),
      };
    }
  }
  if (spec.auth !== undefined && spec.mcp === undefined)
    check.report(
      'MW_POLICY_AUTH_LOCAL',
      { who: `effect ${name}`, remote: 'an MCP server (mcp)' },
      [...at, 'auth'],
      'key',
    );
  return {
    name,
    ...(module === undefined ? {} : { module: resolve(dir, module) }),
    ...(mcp === undefined ? {} : { mcp }),
  };
}

function compileAgent(check: Checker, name: string, spec: Obj, dir: string): AgentSpec {
  const present = TRANSPORTS.filter((t) => spec[t] !== undefined);
  if (present.length !== 1) {
    const found = present.length === 0 ? 'none' : present.join(' and ');
    check.report('MW_POLICY_AGENT_TRANSPORT', { agent: name, found }, ['agents', name], 'key');
  }
  const module = str(spec.module);
  const url = str(spec.url);
  const a2a = str(spec.a2a);
  const publicKey = str(spec.publicKey);
  // A flowise or http agent may not have one at all (mapped-agents.ts says so): its form is moot.
  const signs = spec.flowise === undefined && spec.http === undefined;
  if (publicKey !== undefined && signs) checkPublicKey(check, name, publicKey);
  const via = isObj(spec.expose) ? str(spec.expose.via) : undefined;
  const auth = authOf(spec.auth) ?? authOf(innerAuth(spec));
  if (spec.auth !== undefined && module !== undefined)
    check.report(
      'MW_POLICY_AUTH_LOCAL',
      { who: `agent ${name}`, remote: 'a remote agent (url, a2a, flowise or http)' },
      ['agents', name, 'auth'],
      'key',
    );
  const mapped = compileMappedAgent(check, name, spec);
  return {
    name,
    version: str(spec.version) ?? '',
    ...(module === undefined ? {} : { module: resolve(dir, module) }),
    ...(url === undefined ? {} : { url }),
    ...(a2a === undefined ? {} : { a2a }),
    ...mapped,
    consumes: stringsOf(spec.consumes).map(([t]) => t),
    emits: stringsOf(spec.emits).map(([t]) => t),
    effects: stringsOf(spec.effects).map(([t]) => t),
    ...(publicKey === undefined ? {} : { publicKey }),
    ...(via === undefined ? {} : { expose: { via } }),
    ...(auth === undefined ? {} : { auth }),
  };
}

/** `auth: { env, header?, scheme? }`, its shape checked by the schema: `Authorization: Bearer` unless told. */
export function authOf(value: unknown): RemoteAuth | undefined {
  if (!isObj(value)) return undefined;
  const env = str(value.env);
  if (env === undefined) return undefined;
  const header = str(value.header) ?? 'Authorization';
  const scheme = str(value.scheme) ?? (header.toLowerCase() === 'authorization' ? 'Bearer' : undefined);
  return { env, header, ...(scheme === undefined || scheme === '' ? {} : { scheme }) };
}

/** An exposed agent's callers send through an ingress that emits at least one type it consumes. */
function checkExposed(
  check: Checker,
  agents: ReadonlyMap<string, AgentSpec>,
  ingress: ReadonlyMap<string, IngressSpec>,
) {
  for (const agent of agents.values()) {
    if (agent.expose === undefined) continue;
    const at: Path = ['agents', agent.name, 'expose', 'via'];
    const via = ingress.get(agent.expose.via);
    const who = `agent ${agent.name}`;
    if (via === undefined) {
      const why = 'it is not declared under ingress';
      check.report(
        'MW_POLICY_UNKNOWN_REFERENCE',
        { who, verb: 'is exposed through', name: agent.expose.via, why },
        at,
      );
    } else if (!via.emits.some((t) => agent.consumes.includes(t))) {
      const params = {
        agent: agent.name,
        via: via.name,
        emits: via.emits.join(', ') || 'nothing',
        consumes: agent.consumes.join(', ') || 'nothing',
      };
      check.report('MW_POLICY_EXPOSED_UNREACHABLE', params, at);
    }
  }
}

function checkPublicKey(check: Checker, agent: string, pem: string): void {
  let reason: string | undefined;
  try {
    const key = createPublicKey(pem);
    if (key.asymmetricKeyType !== 'ed25519') reason = `it is a ${String(key.asymmetricKeyType)} key`;
  } catch (err) {
    reason = errorText(err);
  }
  if (reason !== undefined)
    check.report('MW_POLICY_BAD_KEY', { agent, reason }, ['agents', agent, 'publicKey']);
}

/** The path written earliest in the file. */
function first(check: Checker, paths: readonly Path[]): Path {
  let best = paths[0]!;
  let at = check.mesh.locate(best);
  for (const path of paths.slice(1)) {
    const here = check.mesh.locate(path);
    if (here.line < at.line || (here.line === at.line && here.col < at.col)) [best, at] = [path, here];
  }
  return best;
}
