import { existsSync } from 'node:fs';
import module from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { errorText, type MeshwardenError } from '../envelope/index.js';
import type { AgentSpec, Policy } from '../policy/index.js';
import type { AgentDefinition, EffectDefinition } from './define.js';
import { runtimeError } from './errors.js';
import type { AgentTransport, EffectTransport, Transport } from './transports.js';

export type LoadedModules = {
  readonly agents: ReadonlyMap<string, AgentDefinition>;
  readonly effects: ReadonlyMap<string, EffectDefinition>;
};

/**
 * Imports every agent and effect module the policy names, and connects its remote agents through
 * the given transports. `.ts` modules are loaded by Node directly (type stripping). Returns every
 * failure, not only the first.
 */
export async function loadModules(
  policy: Policy,
  transports: readonly Transport[] = [],
): Promise<{ ok: true; modules: LoadedModules } | { ok: false; errors: MeshwardenError[] }> {
  bindPackageName();
  const errors: MeshwardenError[] = [];
  const agents = new Map<string, AgentDefinition>();
  const effects = new Map<string, EffectDefinition>();
  for (const agent of policy.agents.values()) {
    if (agent.module === undefined) {
      const kind = remoteKind(agent);
      const transport = transports.find((t): t is AgentTransport => t.kind === kind);
      const connected =
        transport?.connect(agent) ??
        runtimeError('MW_RUNTIME_TRANSPORT', { who: `agent ${agent.name}`, transport: `${kind}:` });
      if (connected instanceof Error) errors.push(connected);
      else agents.set(agent.name, connected);
      continue;
    }
    const loaded = await importDefault(agent.module, 'agent', 'handle', 'defineAgent({ handle })');
    if (loaded instanceof Error) errors.push(loaded);
    else agents.set(agent.name, loaded as AgentDefinition);
  }
  for (const effect of policy.effects.values()) {
    if (effect.mcp !== undefined) {
      const transport = transports.find((t): t is EffectTransport => t.kind === 'mcp');
      const connected =
        transport?.connect(effect) ??
        runtimeError('MW_RUNTIME_TRANSPORT', { who: `effect ${effect.name}`, transport: 'mcp:' });
      if (connected instanceof Error) errors.push(connected);
      else effects.set(effect.name, connected);
      continue;
    }
    if (effect.module === undefined) continue; // recorded as a dead letter when requested
    const loaded = await importDefault(effect.module, 'effect', 'execute', 'defineEffect({ execute })');
    if (loaded instanceof Error) errors.push(loaded);
    else effects.set(effect.name, loaded as EffectDefinition);
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, modules: { agents, effects } };
}

/** Which transport reaches an agent that is not a module: the one policy key it has. */
function remoteKind(agent: AgentSpec): AgentTransport['kind'] {
  if (agent.a2a !== undefined) return 'a2a';
  if (agent.flowise !== undefined) return 'flowise';
  if (agent.http !== undefined) return 'http';
  return 'url';
}

async function importDefault(
  file: string,
  what: string,
  method: string,
  expected: string,
): Promise<object | MeshwardenError> {
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
  } catch (cause) {
    const text = errorText(cause);
    return runtimeError(
      'MW_RUNTIME_MODULE_LOAD',
      { what, file, cause: `${text}${hintFor(cause)}` },
      { location: { file }, cause },
    );
  }
  const value = mod.default;
  if (
    value === null ||
    typeof value !== 'object' ||
    typeof (value as Record<string, unknown>)[method] !== 'function'
  ) {
    return runtimeError('MW_RUNTIME_MODULE_SHAPE', { what, file, expected }, { location: { file } });
  }
  return value;
}

let bound = false;

/**
 * Makes `import … from 'meshwarden'` in agent and effect modules resolve to the copy of meshwarden
 * that is running them, wherever the mesh folder is (a data directory, a folder without
 * node_modules): one copy in the process, no version skew between the runtime and `defineAgent`.
 * Needs `module.registerHooks` (Node ≥ 22.15); without it, ordinary package resolution applies.
 */
function bindPackageName(): void {
  const entry = new URL('../index.js', import.meta.url);
  // Under a test runner the source is TypeScript and the runner resolves the name itself.
  if (bound || typeof module.registerHooks !== 'function' || !existsSync(fileURLToPath(entry))) return;
  bound = true;
  module.registerHooks({
    resolve: (specifier, context, nextResolve) =>
      specifier === 'meshwarden' ? { url: entry.href, shortCircuit: true } : nextResolve(specifier, context),
  });
}

/** The two mistakes people make when a mesh folder is new, with what fixes them. */
function hintFor(cause: unknown): string {
  const code = (cause as { code?: unknown } | null)?.code;
  if (code === 'ERR_MODULE_NOT_FOUND' && errorText(cause).includes("'meshwarden'")) {
    // Not "npm install meshwarden": the package may not be on the registry the user reaches.
    const root = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');
    return ` (install this copy of meshwarden where the mesh lives: npm install ${root})`;
  }
  // Node reports a CommonJS-scoped file that uses import as a SyntaxError, without a code.
  if (cause instanceof SyntaxError && errorText(cause).includes('outside a module')) {
    return ' (add "type": "module" to the package.json nearest to the mesh)';
  }
  return '';
}
