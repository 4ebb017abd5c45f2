import type { IncomingMessage, ServerResponse } from 'node:http';

// The doors interop/ opens onto the mesh and server/ mounts behind its own auth. Both sit above
// runtime/ and may not import each other, so the shapes they share are defined once, here.

/** Who calls an A2A endpoint, as the shell that checked the bearer token knows them. */
export type A2aCaller = {
  readonly name: string;
  readonly partner: boolean;
  /** What the caller's tasks are kept under: unique to the token, so a name given again later reads none of them. */
  readonly key: string;
};

/**
 * Ingress and exposed agents as A2A agents (interop's `createMeshA2aServer`): which names it serves,
 * and one HTTP request under one of them.
 */
export type A2aEndpoint = {
  /** Whether `name` is an ingress or an exposed agent of the policy in force. */
  serves(name: string): boolean;
  /** Whether `name` is an agent the policy exposes (its card is public; an ingress's is not). */
  exposes(name: string): boolean;
  /**
   * Answers one HTTP request under `base` (`<origin>/api/v1/a2a/<name>`, a valid URL): the card at
   * `base/.well-known/agent-card.json`, JSON-RPC at `base`, REST under `base/rest`. The body is read
   * from `req`, unread. `caller` is who the token names, recorded as `a2a:<name>`; a partner's
   * messages go to the gate as a partner's, which lets them reach only the exposed agent they
   * address (anything else is denied and recorded). Without a caller only the card is served.
   * Resolves `handled: false` (and the error, if one was raised) when no A2A route took the
   * request: the shell answers it.
   */
  serve(
    name: string,
    base: string,
    req: IncomingMessage,
    res: ServerResponse,
    caller: A2aCaller | undefined,
  ): Promise<{ readonly handled: true } | { readonly handled: false; readonly error?: unknown }>;
};

/** Who calls an MCP endpoint, as the shell that checked the bearer token knows them. */
export type McpCaller = {
  /** Recorded as `sentBy: mcp:<name>` on every message the caller sends. */
  readonly name: string;
  /**
   * A partner (an outside caller) is given only the exposed agents' tools, and what it sends goes to
   * the gate as a partner's: it reaches only the exposed agent it addresses.
   */
  readonly partner?: boolean;
  /** The request's body when the HTTP framework has parsed it already. */
  readonly body?: unknown;
};

/** The mesh as an MCP server (interop's `createMeshMcpServer`): a web-standard handler. */
export type McpEndpoint = {
  fetch(request: Request, caller: McpCaller): Promise<Response>;
};
