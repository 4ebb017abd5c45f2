// For tests only (excluded from the build, as *-test-kit.ts files are): a TCP proxy to a local
// NATS, whose cut drops every connection through it, as a network cut or a broker restart does, and
// one that loses a single answer of the broker.
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

/**
 * A TCP proxy to a local NATS that loses the broker's answer to the `nth` request published on
 * `subject` (the first by default; as a timeout or a cut at the wrong moment does): the request
 * itself gets through and takes effect. Everything else passes unchanged.
 */
export async function answerLosingProxy(target: number, subject: string, nth = 1) {
  let answers = 0;
  let lost = false;
  const proxy = await answerProxy(target, subject, (send) => {
    if (++answers !== nth) return send();
    lost = true;
  });
  return { ...proxy, lost: () => lost };
}

/**
 * A TCP proxy to a local NATS that holds each of the broker's answers to requests published on
 * `subject` back for `ms` (a slow link's answer still on its way): `withheld()` counts those held
 * now. Everything else passes unchanged.
 */
export async function answerDelayingProxy(target: number, subject: string, ms: number) {
  let withheld = 0;
  const proxy = await answerProxy(target, subject, (send) => {
    withheld++;
    setTimeout(() => {
      withheld--;
      send();
    }, ms);
  });
  return { ...proxy, withheld: () => withheld };
}

/** A TCP proxy to a local NATS that hands each answer to a request on `subject` to `answer`. */
async function answerProxy(target: number, subject: string, answer: (send: () => void) => void) {
  const replies = new Set<string>();
  const sockets = new Set<Socket>();
  const sent = new RegExp(`H?PUB ${subject.replace(/[.$*>]/g, '\\$&')} (_INBOX\\.\\S+) `, 'g');
  const server = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port: target });
    client.on('data', (chunk: Buffer) => {
      for (const m of chunk.toString('latin1').matchAll(sent)) replies.add(m[1]!);
      upstream.write(chunk);
    });
    let pending = Buffer.alloc(0);
    upstream.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        const frame = nextFrame(pending);
        if (frame === undefined) break;
        const bytes = pending.subarray(0, frame.length);
        if (frame.subject !== undefined && replies.delete(frame.subject))
          answer(() => void (client.destroyed || client.write(bytes)));
        else client.write(bytes);
        pending = pending.subarray(frame.length);
      }
    });
    for (const [a, b] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      sockets.add(a);
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
    async [Symbol.asyncDispose]() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** The next whole protocol frame from the broker: its length, and the subject of a message. */
function nextFrame(data: Buffer): { length: number; subject?: string } | undefined {
  const end = data.indexOf('\r\n');
  if (end < 0) return undefined;
  const line = data.subarray(0, end).toString('latin1').split(' ');
  if (line[0] !== 'MSG' && line[0] !== 'HMSG') return { length: end + 2 };
  const length = end + 2 + Number(line[line.length - 1]) + 2; // MSG: size; HMSG: total size
  return data.length < length ? undefined : { length, subject: line[1] };
}
