import type { EffectSpec } from '../../runtime/index.js';
import type { Credential } from '../auth.js';

/** How the warden reaches an MCP server: over Streamable HTTP, or by spawning it and talking stdio. */
export type ServerAddress = (
  | { readonly kind: 'http'; readonly url: URL }
  | { readonly kind: 'stdio'; readonly command: string; readonly args: readonly string[] }
) & {
  /** Sent as a header over HTTP; given to a spawned server as its environment variable. */
  readonly credential?: Credential;
};

/**
 * The address the policy read from `effects.<name>.mcp` (policy/mcp-server.ts splits command lines
 * and resolves their paths), or why there is none.
 */
export function readServer(
  mcp: NonNullable<EffectSpec['mcp']>,
  credential?: Credential,
): ServerAddress | string {
  const also = credential === undefined ? {} : { credential };
  if (mcp.url !== undefined) {
    return URL.canParse(mcp.url)
      ? { kind: 'http', url: new URL(mcp.url), ...also }
      : `${mcp.url} is not a valid URL`;
  }
  const [command, ...args] = mcp.command ?? [];
  return command === undefined ? 'the server names no command' : { kind: 'stdio', command, args, ...also };
}
