import { runtimeError } from './errors.js';

/**
 * What `meshwarden drift [agent[@version]]` and `GET /drift?agent=` name: an agent, or one of its
 * versions. A name the ledger never saw is an error, not "no drift" (a typo must not read as calm).
 */
export type DriftTarget = { readonly agent: string; readonly version?: string };

/** An agent name, optionally `@version` (the agent and version patterns of the policy). */
export const DRIFT_TARGET = /^[A-Za-z0-9][A-Za-z0-9._-]*(@[A-Za-z0-9][A-Za-z0-9.+_-]*)?$/;

/** `agent` or `agent@version`, or the typed error saying what a well-formed one looks like. */
export function parseDriftTarget(text: string): DriftTarget | ReturnType<typeof runtimeError> {
  if (!DRIFT_TARGET.test(text)) return runtimeError('MW_RUNTIME_DRIFT_TARGET', { text });
  const i = text.indexOf('@');
  return i < 0 ? { agent: text } : { agent: text.slice(0, i), version: text.slice(i + 1) };
}

/**
 * The error for a target the ledger has no decision of, listing what it has:
 * `MW_RUNTIME_DRIFT_UNKNOWN` with `details.what`, `details.known` and `details.agents` (name → versions, first seen first).
 */
export function unknownDriftTarget(
  target: DriftTarget,
  seen: ReadonlyMap<string, readonly string[]>,
): ReturnType<typeof runtimeError> | undefined {
  const versions = seen.get(target.agent);
  const what =
    versions === undefined
      ? `agent ${target.agent}`
      : target.version !== undefined && !versions.includes(target.version)
        ? `version ${target.version} of agent ${target.agent}`
        : undefined;
  if (what === undefined) return undefined;
  const known =
    versions !== undefined
      ? `versions of ${target.agent} it has: ${versions.join(', ')}`
      : seen.size === 0
        ? 'it has no agent decisions yet'
        : `agents it has: ${[...seen].map(([name, v]) => `${name} (${v.join(', ')})`).join(', ')}`;
  return runtimeError(
    'MW_RUNTIME_DRIFT_UNKNOWN',
    { what, known },
    { details: { what, known, agents: Object.fromEntries(seen) } },
  );
}
