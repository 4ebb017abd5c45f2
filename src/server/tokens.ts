import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { errorText, isMeshwardenError, type MeshwardenError } from '../runtime/index.js';
import { apiError } from './errors.js';

/** The pilots' roles, each allowed what the one before it is: viewer ⊂ pilot ⊂ admin. */
const LADDER = ['viewer', 'pilot', 'admin'] as const;
/**
 * Every role: the pilots', and `partner`, an outside caller (another organisation's agent, an LLM
 * client) that may only send through the A2A and MCP endpoints, and read or act on nothing else.
 */
export const ROLES = [...LADDER, 'partner'] as const;
export type Role = (typeof ROLES)[number];
export type PilotRole = (typeof LADDER)[number];

/** A token as the API shows it: never the secret, which exists only in the reply that created it. */
export type TokenInfo = { readonly name: string; readonly role: Role; readonly createdAt: string };

export type TokenStore = {
  /** The token's owner, or undefined for an unknown token. */
  verify(token: string): TokenInfo | undefined;
  list(): TokenInfo[];
  create(name: string, role: Role): Promise<{ token: string; info: TokenInfo } | MeshwardenError>;
  /** Revokes a token; refuses to revoke the last admin token, which nobody could replace. */
  remove(name: string): Promise<true | MeshwardenError>;
  readonly size: number;
};

type Stored = TokenInfo & { readonly sha256: string };

/** Whether `role` may call a route that needs `needed`: admin ⊃ pilot ⊃ viewer; a partner only where partners may. */
export function allows(role: Role, needed: PilotRole, openToPartners = false): boolean {
  if (role === 'partner') return openToPartners;
  return LADDER.indexOf(role) >= LADDER.indexOf(needed);
}

const digest = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * Tokens live hashed in one JSON file (mode 0600), rewritten whole through a temp file and a rename so
 * a crash never leaves half a file. Lookups go by the hash, so no secret is ever compared or kept.
 */
export async function openTokenStore(file: string): Promise<TokenStore | MeshwardenError> {
  let tokens: Stored[] = [];
  try {
    const text = await readFile(file, 'utf8');
    const parsed = JSON.parse(text) as { tokens?: Stored[] };
    if (!Array.isArray(parsed.tokens)) throw new Error('it has no "tokens" array');
    tokens = parsed.tokens;
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== 'ENOENT') {
      return apiError('MW_API_TOKENS_FILE', { file, cause: errorText(cause) }, { cause });
    }
  }
  const byHash = () => new Map(tokens.map((t) => [t.sha256, t]));
  let index = byHash();

  const write = async (next: readonly Stored[]) => {
    await mkdir(dirname(file), { recursive: true });
    const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(temp, `${JSON.stringify({ tokens: next }, null, 2)}\n`, { mode: 0o600 });
    await chmod(temp, 0o600);
    await rename(temp, file);
  };

  // Changes run one after another, each on what the previous one left, and memory changes only once
  // the file has: concurrent calls can neither lose a write nor disagree with the file.
  let chain: Promise<unknown> = Promise.resolve();
  const update = <T>(
    change: (current: readonly Stored[]) => { next: Stored[]; result: T } | MeshwardenError,
  ): Promise<T | MeshwardenError> => {
    const run = chain.then(async (): Promise<T | MeshwardenError> => {
      const changed = change(tokens);
      if (isMeshwardenError(changed)) return changed;
      try {
        await write(changed.next);
      } catch (cause) {
        return apiError('MW_API_TOKENS_FILE', { file, cause: errorText(cause) }, { cause });
      }
      tokens = changed.next;
      index = byHash();
      return changed.result;
    });
    chain = run;
    return run;
  };

  const info = (t: Stored): TokenInfo => ({ name: t.name, role: t.role, createdAt: t.createdAt });

  return {
    verify(token) {
      const found = index.get(digest(token));
      return found === undefined ? undefined : info(found);
    },
    list: () => tokens.map(info),
    create(name, role) {
      return update((current) => {
        if (current.some((t) => t.name === name)) return apiError('MW_API_TOKEN_EXISTS', { name });
        const token = `mw_${randomBytes(24).toString('base64url')}`;
        const stored: Stored = { name, role, createdAt: new Date().toISOString(), sha256: digest(token) };
        return { next: [...current, stored], result: { token, info: info(stored) } };
      });
    },
    remove(name) {
      return update((current) => {
        const found = current.find((t) => t.name === name);
        if (found === undefined) return apiError('MW_API_NOT_FOUND', { what: `token ${name}` });
        if (found.role === 'admin' && current.filter((t) => t.role === 'admin').length === 1) {
          return apiError('MW_API_LAST_ADMIN', { name });
        }
        return { next: current.filter((t) => t !== found), result: true as const };
      });
    },
    get size() {
      return tokens.length;
    },
  };
}
