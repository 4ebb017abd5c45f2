import { connect, type NatsConnection } from '@nats-io/transport-node';
import { errorText } from '../envelope/index.js';
import { runtimeError } from './errors.js';

/**
 * Opens a NATS connection for the bus or the leases; rejects with `code` (`{servers}`, `{cause}`)
 * when NATS cannot be reached. It keeps reconnecting for good: a broker restart or a cut is an
 * outage to ride out (the leases lapse meanwhile), not the end of the mesh.
 */
export async function connectNats(
  servers: string | readonly string[] | undefined,
  name: string,
  code: 'MW_RUNTIME_BUS_CONNECT' | 'MW_RUNTIME_LEASE_CONNECT',
): Promise<NatsConnection> {
  const to = servers ?? 'nats://127.0.0.1:4222';
  try {
    return await connect({
      servers: typeof to === 'string' ? to : [...to],
      name,
      maxReconnectAttempts: -1,
      // Something that is not NATS at that address answers nothing: say so within 5 s, not 20.
      timeout: 5_000,
      // Otherwise every request (each bus publish awaits one, its stream's ack) builds two errors
      // with stack traces up front, in case it fails: about 5 % of a cluster node's main thread.
      // Our errors carry their own code and cause.
      noAsyncTraces: true,
    });
  } catch (cause) {
    throw runtimeError(code, { servers: shownServers(String(to)), cause: errorText(cause) }, { cause });
  }
}

/** NATS URLs as said in a message: a `user:password@` (or token) in them is masked. */
export function shownServers(servers: string): string {
  return servers.replace(/\/\/[^/@,\s]*@/g, '//…@');
}

/** The broker's largest message, in bytes (1 MiB by default). */
export function maxPayload(nc: NatsConnection): number {
  return nc.info?.max_payload ?? 1_048_576;
}

/** Half the broker's largest message: what a node packs into one stays well under it. */
export function halfMaxPayload(nc: NatsConnection): number {
  return Math.floor(maxPayload(nc) / 2);
}
