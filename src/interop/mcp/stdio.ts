import { type ChildProcess, spawn } from 'node:child_process';
import {
  type JSONRPCMessage,
  ReadBuffer,
  SdkError,
  SdkErrorCode,
  serializeMessage,
  type Transport,
} from '@modelcontextprotocol/client';
import { getDefaultEnvironment } from '@modelcontextprotocol/client/stdio';

/** How a spawned server ended: `with code 1`, `on SIGKILL`, and the last of what it wrote to stderr. */
export type Exit = { readonly how: string; readonly stderr: string };

/**
 * The SDK's stdio client transport, written out so that the warden owns the child: its pipes are
 * unref'ed, so a command such as `meshwarden run` ends when its work is done instead of waiting for
 * a server that never exits (a call in flight is still held open by its timeout timer); its stderr
 * tail goes into the error when it dies; and it is killed when the warden's process exits (a
 * well-behaved server already ends when its input closes; this catches the others). `pid`
 * and `stderr` are what the SDK looks for to treat it as stdio (a silent probe means a 2025 server).
 */
export type StdioTransport = Transport & {
  readonly pid: number | null;
  readonly stderr: null;
  /** Set once the child has exited. */
  exit(): Exit | undefined;
};

export type StdioOptions = {
  readonly command: string;
  readonly args: readonly string[];
  /** Added to the SDK's default environment (HOME, PATH, USER, …): secrets are not passed on unasked. */
  readonly env?: Readonly<Record<string, string>>;
};

const STDERR_TAIL = 2048;
const GRACE_MS = 2000;

export function createStdioTransport(opts: StdioOptions): StdioTransport {
  const buffer = new ReadBuffer();
  let child: ChildProcess | undefined;
  let exit: Exit | undefined;
  let stderr = '';

  const transport: StdioTransport = {
    pid: null,
    stderr: null,
    exit: () => exit,
    async start() {
      const spawned = spawn(opts.command, [...opts.args], {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { ...getDefaultEnvironment(), ...opts.env },
        windowsHide: true,
      });
      await new Promise<void>((resolve, reject) => {
        spawned.once('spawn', resolve);
        spawned.once('error', reject); // ENOENT, EACCES: the command cannot run
      });
      child = spawned;
      (transport as { pid: number | null }).pid = spawned.pid ?? null;
      spawned.on('error', (err) => transport.onerror?.(err));
      spawned.stdin?.on('error', (err) => transport.onerror?.(err)); // EPIPE once it has died
      spawned.stdout?.on('data', (chunk: Buffer) => read(chunk));
      spawned.stderr?.on('data', (chunk: Buffer) => {
        stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_TAIL);
      });
      spawned.once('close', (code, signal) => {
        living.delete(spawned);
        exit = { how: signal ? `on ${signal}` : `with code ${code}`, stderr: stderr.trim() };
        transport.onclose?.();
      });
      killAtExit(spawned);
      spawned.unref();
      for (const stream of [spawned.stdin, spawned.stdout, spawned.stderr])
        (stream as { unref?: () => void } | null)?.unref?.();
    },
    async send(message) {
      const stdin = child?.stdin;
      if (!stdin || exit !== undefined || !stdin.writable)
        throw new SdkError(SdkErrorCode.NotConnected, 'the MCP server is not running');
      if (!stdin.write(serializeMessage(message)))
        await new Promise<void>((resolve) => stdin.once('drain', resolve));
    },
    async close() {
      const running = child;
      if (running === undefined || exit !== undefined) return;
      // The MCP stdio binding: close its input, wait, then SIGTERM, then SIGKILL.
      const exited = new Promise<void>((resolve) => running.once('close', () => resolve()));
      // Held while it stops: an unref'ed child and timers would let the process end mid-close.
      running.ref();
      for (const stream of [running.stdout, running.stderr]) (stream as { ref?: () => void } | null)?.ref?.();
      running.stdin?.end();
      for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
        if (await settles(exited, GRACE_MS)) return;
        running.kill(signal);
      }
      await settles(exited, GRACE_MS);
    },
  };

  /** Every complete line is a message; a line that is not JSON-RPC is reported and skipped. */
  function read(chunk: Buffer) {
    try {
      buffer.append(chunk);
    } catch (err) {
      transport.onerror?.(err as Error); // over the buffer limit: the partial message is dropped
      return;
    }
    for (;;) {
      let message: JSONRPCMessage | null;
      try {
        message = buffer.readMessage();
      } catch (err) {
        transport.onerror?.(err as Error);
        continue;
      }
      if (message === null) return;
      transport.onmessage?.(message);
    }
  }
  return transport;
}

/** Spawned servers still running; one process-wide hook kills them when the warden's process exits. */
const living = new Set<ChildProcess>();
let hooked = false;

function killAtExit(child: ChildProcess): void {
  if (!hooked)
    process.once('exit', () => {
      for (const c of living) c.kill('SIGKILL');
    });
  hooked = true;
  living.add(child);
}

/** Whether `promise` settles within `ms`. */
function settles(promise: Promise<void>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    void promise.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}
