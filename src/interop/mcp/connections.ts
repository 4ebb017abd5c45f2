import { Client, StreamableHTTPClientTransport, type Tool } from '@modelcontextprotocol/client';
import type { Logger } from 'pino';
import { headersOf } from '../auth.js';
import type { ServerAddress } from './command.js';
import { mcpError } from './errors.js';
import { cappedFetch } from './fetch.js';
import { createStdioTransport, type Exit } from './stdio.js';

/** A client of one MCP server, connecting or connected. */
export type Connection = {
  readonly client: Client;
  /** Resolves once connected and the tools are listed; rejects with why not. */
  readonly ready: Promise<void>;
  /** The tools the server listed when it connected, or when last listed again. */
  tools(): ReadonlyMap<string, Tool>;
  /** Lists the tools again (once connected); calls made while one listing runs share it. */
  listTools(): Promise<ReadonlyMap<string, Tool>>;
  /** For a spawned server: how it ended, once it has (at start-up too, with its stderr). */
  exit(): Exit | undefined;
};

export type Connections = {
  /** The server's connection: made on first use, then shared by every effect that uses the server. */
  get(server: string, address: ServerAddress): Connection;
  /** Forgets a connection that failed, so the next call connects afresh (a command is spawned again). */
  drop(connection: Connection): void;
  /** Closes every connection: spawned servers get their input closed, then SIGTERM, then SIGKILL. */
  close(): Promise<void>;
};

export type ConnectionOptions = {
  readonly timeoutMs: number;
  /** An HTTP reply over this many bytes fails the call (MW_INTEROP_REPLY_TOO_BIG). */
  readonly maxReplyBytes: number;
  readonly env?: Readonly<Record<string, string>>;
  readonly log?: Logger;
};

const CLIENT = { name: 'meshwarden', version: '0.1.0' };
const MAX_PAGES = 100;

/** One connection per server and credential (in memory only): two credentials for one server get two. */
function keyOf(server: string, address: ServerAddress): string {
  const { credential } = address;
  return credential === undefined ? server : `${server}\0${credential.header}\0${credential.value}`;
}

export function createConnections(opts: ConnectionOptions): Connections {
  const open = new Map<string, Connection>();
  let closed = false;

  const connect = (server: string, address: ServerAddress): Connection => {
    // `auto`: a 2026-07-28 server is spoken to as one, a 2025 server (initialize) as one.
    const client = new Client(CLIENT, {
      versionNegotiation: { mode: 'auto', probe: { timeoutMs: Math.ceil(opts.timeoutMs / 2) } },
    });
    // Out-of-band trouble (a line on stdout that is not JSON-RPC): noted; the call decides.
    client.onerror = (err) => opts.log?.warn({ server, err }, 'MCP server misbehaved');
    const transport =
      address.kind === 'http'
        ? new StreamableHTTPClientTransport(address.url, {
            fetch: cappedFetch(
              opts.maxReplyBytes,
              { who: 'MCP server', url: address.url.href },
              address.credential,
            ),
            requestInit: { headers: headersOf(address.credential) },
          })
        : createStdioTransport({
            ...address,
            env: {
              ...opts.env,
              ...(address.credential === undefined
                ? {}
                : { [address.credential.env]: address.credential.secret }),
            },
          });
    let tools: ReadonlyMap<string, Tool> = new Map();
    let listing: Promise<ReadonlyMap<string, Tool>> | undefined;
    const list = async () => {
      const listed: Tool[] = [];
      let cursor: string | undefined;
      // Pages, as the server splits them; a bound keeps a server that always answers a cursor finite.
      for (let page = 0; page < MAX_PAGES; page++) {
        const result = await client.listTools(cursor === undefined ? undefined : { cursor }, {
          timeout: opts.timeoutMs,
        });
        listed.push(...result.tools);
        cursor = result.nextCursor;
        if (cursor === undefined) break;
      }
      tools = new Map(listed.map((t) => [t.name, t]));
      return tools;
    };
    const ready = (async () => {
      if (closed) throw mcpError('MW_INTEROP_MCP_CLOSED', { server });
      await client.connect(transport, { timeout: opts.timeoutMs });
      await list();
      opts.log?.debug({ server, tools: [...tools.keys()] }, 'MCP server connected');
    })();
    const connection: Connection = {
      client,
      ready,
      tools: () => tools,
      listTools: () => {
        listing ??= ready.then(list).finally(() => {
          listing = undefined;
        });
        return listing;
      },
      exit: 'exit' in transport ? transport.exit : () => undefined,
    };
    // A failed connect is not kept (the next call, a retry, tries again) nor left running.
    ready.catch(() => {
      if (open.get(keyOf(server, address)) === connection) open.delete(keyOf(server, address));
      return client.close().catch(() => undefined);
    });
    return connection;
  };

  const closeOne = async (connection: Connection) => {
    await connection.ready.catch(() => undefined);
    await connection.client.close().catch(() => undefined);
  };

  return {
    get(server, address) {
      const key = keyOf(server, address);
      let connection = open.get(key);
      if (connection === undefined) {
        connection = connect(server, address);
        if (!closed) open.set(key, connection);
      }
      return connection;
    },
    drop(connection) {
      for (const [key, kept] of open) {
        if (kept !== connection) continue;
        open.delete(key);
        void closeOne(connection);
      }
    },
    async close() {
      closed = true;
      const all = [...open.values()];
      open.clear();
      await Promise.all(all.map(closeOne));
    },
  };
}
