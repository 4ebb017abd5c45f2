import { pathToFileURL } from 'node:url';
import type { MeshwardenError } from '../envelope/index.js';
import type { Policy } from '../policy/index.js';
import type { AgentDefinition, EffectDefinition } from './define.js';
import { runtimeError } from './errors.js';

export type LoadedModules = {
  readonly agents: ReadonlyMap<string, AgentDefinition>;
  readonly effects: ReadonlyMap<string, EffectDefinition>;
};

/**
 * Imports every agent and effect module the policy names. `.ts` modules are loaded by Node directly
 * (type stripping). Returns every failure, not only the first.
 */
export async function loadModules(
  policy: Policy,
): Promise<{ ok: true; modules: LoadedModules } | { ok: false; errors: MeshwardenError[] }> {
  const errors: MeshwardenError[] = [];
  const agents = new Map<string, AgentDefinition>();
  const effects = new Map<string, EffectDefinition>();
  for (const agent of policy.agents.values()) {
    if (agent.module === undefined) {
      const transport = agent.a2a !== undefined ? 'a2a:' : 'url:';
      errors.push(runtimeError('MW_RUNTIME_TRANSPORT', { agent: agent.name, transport }));
      continue;
    }
    const loaded = await importDefault(agent.module, 'agent', 'handle', 'defineAgent({ handle })');
    if (loaded instanceof Error) errors.push(loaded);
    else agents.set(agent.name, loaded as AgentDefinition);
  }
  for (const effect of policy.effects.values()) {
    if (effect.module === undefined) continue; // recorded as a dead letter when requested
    const loaded = await importDefault(effect.module, 'effect', 'execute', 'defineEffect({ execute })');
    if (loaded instanceof Error) errors.push(loaded);
    else effects.set(effect.name, loaded as EffectDefinition);
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, modules: { agents, effects } };
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
    const text = cause instanceof Error ? cause.message : String(cause);
    return runtimeError('MW_RUNTIME_MODULE_LOAD', { what, file, cause: text }, { location: { file }, cause });
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
