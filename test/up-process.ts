import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { BIN, REPO } from './run-cli.js';

/** A running `meshwarden up`: its URLs, the first admin token, and how to stop it. */
export type UpProcess = {
  readonly url: string;
  readonly api: string;
  readonly console: string;
  /** Set when this start created the first admin token. */
  readonly token: string | undefined;
  readonly child: ChildProcessWithoutNullStreams;
  stderr(): string;
  /** SIGINT, then the exit code once it has shut down. */
  stop(): Promise<number | null>;
};

/**
 * Starts `up --json --port 0` (this repo's binary, or an installed copy's) and waits for its one JSON
 * document on stdout.
 */
export function startUp(
  args: readonly string[],
  opts: { bin?: string; cwd?: string; env?: Record<string, string> } = {},
): Promise<UpProcess> {
  const child = spawn(process.execPath, [opts.bin ?? BIN, 'up', '--json', '--port', '0', ...args], {
    cwd: opts.cwd ?? REPO,
    ...(opts.env === undefined ? {} : { env: { ...process.env, ...opts.env } }),
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      stdout += d.toString();
      let doc: { url: string; api: string; console: string; token?: string };
      try {
        doc = JSON.parse(stdout);
      } catch {
        return; // not the whole document yet
      }
      child.stdout.off('data', onData);
      resolve({
        ...doc,
        token: doc.token,
        child,
        stderr: () => stderr,
        stop: () => {
          if (child.exitCode === null) child.kill('SIGINT');
          return exited;
        },
      });
    };
    child.stdout.on('data', onData);
    exited.then((code) => reject(new Error(`up exited (${code}) before it was up:\n${stderr}`)));
  });
}

/** Calls the API with a token; the parsed JSON body (or null) and the status. */
export async function call(
  up: { api: string },
  token: string | undefined,
  method: string,
  path: string,
  body?: unknown,
  // biome-ignore lint/suspicious/noExplicitAny: assertions read the reply field by field
): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = {};
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${up.api}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? null : JSON.parse(text) };
}

/**
 * Makes the tokens `roles` names (each token named as its key, with the role its value gives) as the
 * admin, and returns each secret by name.
 */
export async function createTokens(
  up: { api: string },
  admin: string,
  roles: Readonly<Record<string, string>>,
): Promise<Record<string, string>> {
  const made: Record<string, string> = {};
  for (const [name, role] of Object.entries(roles)) {
    const created = await call(up, admin, 'POST', '/tokens', { name, role });
    if (created.status !== 201) throw new Error(`token ${name}: ${JSON.stringify(created.body)}`);
    made[name] = created.body.token;
  }
  return made;
}

/** Polls `check` every 50 ms until it returns something truthy (the retention run settles in about a second). */
export async function until<T>(
  check: () => Promise<T | undefined | false>,
  what: string,
  tries = 200,
): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const value = await check();
    if (value) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * `request`, bytes as given, written on a fresh connection to `up`'s port: the status and the JSON
 * body of the answer, read when the server closes the connection. For what a client library would
 * not send (a URL past the header limit, bytes that are not HTTP, CONNECT).
 */
export function rawHttp(
  up: { api: string },
  request: string,
  // biome-ignore lint/suspicious/noExplicitAny: assertions read the reply field by field
): Promise<{ status: number; headers: string; body: any }> {
  const { hostname, port } = new URL(up.api);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(request));
    let text = '';
    socket.on('data', (d) => (text += d.toString()));
    socket.on('error', reject);
    socket.on('close', () => {
      const at = text.indexOf('\r\n\r\n');
      const head = at < 0 ? text : text.slice(0, at);
      const body = at < 0 ? '' : text.slice(at + 4);
      try {
        resolve({
          status: Number(head.split(' ')[1]),
          headers: head,
          body: body === '' ? null : JSON.parse(body),
        });
      } catch (err) {
        reject(new Error(`not one JSON body: ${JSON.stringify(text.slice(0, 300))}`, { cause: err }));
      }
    });
  });
}
