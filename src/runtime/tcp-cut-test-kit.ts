// For tests only (excluded from the build, as *-test-kit.ts files are): a TCP proxy to a local
// NATS, whose cut drops every connection through it, as a network cut or a broker restart does.
import { type AddressInfo, createConnection, createServer, type Socket } from 'node:net';

/** A TCP proxy to a local port: `cut()` drops every connection and refuses new ones until `heal()`. */
export async function cuttableProxy(target: number) {
  const sockets = new Set<Socket>();
  let cut = false;
  const server = createServer((client) => {
    if (cut) return void client.destroy();
    const upstream = createConnection({ host: '127.0.0.1', port: target });
    for (const [a, b] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      sockets.add(a);
      a.pipe(b);
      a.on('error', () => b.destroy());
      a.on('close', () => {
        sockets.delete(a);
        b.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    cut() {
      cut = true;
      for (const socket of sockets) socket.destroy();
    },
    heal() {
      cut = false;
    },
    async [Symbol.asyncDispose]() {
      this.cut();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
