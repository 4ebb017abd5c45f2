import { createServer } from 'node:net';

/**
 * Whether `host:port` can be listened on now: undefined when it can, else why not (the port is in
 * use, the address is not this machine's). `up` asks before it opens the mesh, so that a busy port
 * is said at once, not after a recovery that reads a large ledger, nor after a cluster node took
 * partitions it then hands back. The port is let go again: `up` listens for real once the mesh is
 * open (and says MW_CLI_LISTEN if another process took it meanwhile).
 */
export function cannotListen(host: string, port: number): Promise<string | undefined> {
  if (port === 0) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', (err) => resolve(err.message));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(undefined)));
  });
}
