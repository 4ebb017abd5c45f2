// A mesh of `meshwarden up --cluster` nodes as child processes, for the distributed-mode tests: one
// mesh name, NATS stream, lease bucket and PostgreSQL schema of its own per kit, all removed by
// its dispose. The built binary runs (dist/ must be built), as an operator would run it.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { onTestFailed, onTestFinished } from 'vitest';
import { duplicateKeyAt } from '../src/envelope/index.js';
import { TEST_POSTGRES } from '../src/ledger/postgres-test-kit.js';
import { streamNameOf } from '../src/runtime/jetstream-names.js';
import { leaseBucketOf } from '../src/runtime/lease-names.js';
import { BIN, REPO, runCli, tempDir } from './run-cli.js';

export const NATS = process.env.MW_TEST_NATS ?? 'nats://127.0.0.1:4222';

/** What `up --cluster --json` prints once it listens (the fields the tests read). */
export type NodeDocument = {
  readonly url: string;
  readonly api: string;
  readonly console: string;
  readonly token?: string;
  readonly node?: string;
  readonly cluster?: string;
  readonly [field: string]: unknown;
};

/** One node's process: started, killed and restarted under one name, data dir and port. */
export type ClusterNode = {
  readonly name: string;
  readonly port: number;
  readonly data: string;
  /** The `--cluster` URL it was started with (a proxy's, for the cut test). */
  readonly cluster: string;
  /** The document of its latest start. */
  readonly doc: NodeDocument;
  /** The admin token its first start printed (a restart on the same data dir prints none). */
  readonly token: string;
  readonly running: boolean;
  /** Everything it wrote on stderr, all its lives (also in `<kit dir>/<name>.log`). */
  log(): string;
  /** Its log's JSON lines (pino: `time`, `level`, `msg` and the fields), all its lives. */
  records(): LogRecord[];
};

export type LogRecord = { readonly time: number; readonly level: number; readonly msg: string } & Record<
  string,
  unknown
>;

export type SendResult = {
  readonly status: number;
  readonly id?: string;
  readonly error?: string;
  /** What the earlier tries got (`<status> <error>`), when it was sent again. */
  readonly retried?: readonly string[];
};

/** A message as `POST /api/v1/messages` takes it. */
export type SendBody = { type: string; subject: string; data: unknown; ingress?: string; to?: string };

export type ClusterKitOptions = {
  /** The example whose mesh runs (a folder under examples/); `retention` by default. */
  readonly example?: string;
  readonly partitions?: number;
  /** Extra `up` arguments for every node. */
  readonly args?: readonly string[];
  /** False: plain `up` nodes, each on its own SQLite ledger (to check the kit itself). */
  readonly cluster?: boolean;
  /** Extra environment for every node (e.g. `MESHWARDEN_METRICS_TOKEN`). */
  readonly env?: Readonly<Record<string, string>>;
};

type Life = {
  child: ChildProcessWithoutNullStreams;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
};

/**
 * Copies the example to a temp dir under a unique mesh name (`cl-<random>`), with `partitions`,
 * and makes the names the nodes will create on NATS and PostgreSQL known, to remove them after.
 */
export async function openClusterKit(opts: ClusterKitOptions = {}) {
  const dir = tempDir('cluster');
  const mesh = `cl-${randomBytes(4).toString('hex')}`;
  const schema = `mw_t_${mesh.replace('-', '_')}`;
  const meshFile = writeMeshCopy(dir, opts.example ?? 'retention', mesh, opts.partitions ?? 16);
  const url = new URL(TEST_POSTGRES);
  url.searchParams.set('schema', schema);
  const ledger = url.href;
  const db = new pg.Pool({ connectionString: TEST_POSTGRES, max: 2 });
  db.on('error', () => {});
  type NodeRecord = ClusterNode & { life?: Life | undefined; logText: string };
  const nodes = new Map<string, NodeRecord>();
  // CI keeps no temp dir: a failed test prints the notes and what each node warned about.
  const notes: string[] = [];
  onTestFailed(() => console.error(failureReport(dir, notes, nodes.values())));
  // Every test's nodes, once it ends (its own error, if any, reported first and apart): a log line
  // with a key twice is read one way by one tool and another way by the next.
  onTestFinished(() => {
    const twice = [...nodes.values()].flatMap((n) =>
      n.logText.split('\n').flatMap((line) => {
        const key = line.startsWith('{') ? duplicateKeyAt(line) : undefined;
        return key === undefined ? [] : [`${n.name}: ${key} twice in ${line}`];
      }),
    );
    if (twice.length > 0) throw new Error(`log lines with a key twice:\n${twice.slice(0, 5).join('\n')}`);
  });

  async function start(name: string, how: { cluster?: string; port?: number } = {}): Promise<ClusterNode> {
    const known = nodes.get(name);
    if (known?.life !== undefined) throw new Error(`node ${name} is running`);
    const port = known?.port ?? how.port ?? (await freePort());
    const data = known?.data ?? join(dir, `data-${name}`);
    const cluster = how.cluster ?? known?.cluster ?? NATS;
    const args = ['up', meshFile];
    if (opts.cluster !== false) args.push('--cluster', cluster, '--ledger', ledger, '--node', name);
    args.push('--port', String(port), '--data', data, '--json', '--rate-limit', '1000000');
    // At info, a node logs each partition it takes over and gives up (what the tests read).
    const env = { ...process.env, MESHWARDEN_LOG: process.env.MESHWARDEN_LOG ?? 'info', ...opts.env };
    const child = spawn(process.execPath, [BIN, ...args, ...(opts.args ?? [])], { cwd: REPO, env });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('close', (code, signal) => resolve({ code, signal })),
    );
    const node: NodeRecord = known ?? {
      name,
      port,
      data,
      cluster,
      doc: { url: '', api: '', console: '' },
      token: '',
      running: false,
      logText: '',
      log: () => node.logText,
      records: () =>
        node.logText.split('\n').flatMap((line) => {
          if (!line.startsWith('{')) return [];
          try {
            return [JSON.parse(line) as LogRecord];
          } catch {
            return []; // a line cut by a SIGKILL
          }
        }),
    };
    Object.assign(node, { cluster, life: { child, exited } });
    nodes.set(name, node);
    const logFile = join(dir, `${name}.log`);
    appendFileSync(logFile, `--- start ${new Date().toISOString()}: ${args.join(' ')}\n`);
    // A killed life's last line may be cut: the next life's first starts on a line of its own.
    if (node.logText !== '' && !node.logText.endsWith('\n')) node.logText += '\n';
    child.stderr.on('data', (d: Buffer) => {
      node.logText += d.toString();
      appendFileSync(logFile, d);
    });
    const doc = await documentOf(child, exited, () => node.logText);
    const token = node.token === '' ? doc.token : node.token;
    if (token === undefined) throw new Error(`node ${name} printed no admin token on its first start`);
    Object.assign(node, { doc, token, running: true });
    exited.then(() => Object.assign(node, { running: false, life: undefined }));
    return node;
  }

  function get(name: string) {
    const node = nodes.get(name);
    if (node === undefined) throw new Error(`no node ${name}`);
    return node;
  }

  /** Sends one message over a node's API; a network failure is status 0. */
  async function send(name: string, body: SendBody): Promise<SendResult> {
    const node = get(name);
    try {
      const res = await fetch(`${node.doc.api}/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${node.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        // A node that hangs on to a call (its transport cut) answers nothing: status 0. Longer than
        // JetStream's ack wait (30 s), after which a dead owner's unacked items come again.
        signal: AbortSignal.timeout(60_000),
      });
      const text = await res.text();
      const reply = text === '' ? {} : JSON.parse(text);
      return res.status === 202
        ? { status: res.status, id: reply.id }
        : { status: res.status, error: reply.error?.code ?? text.slice(0, 200) };
    } catch (err) {
      return { status: 0, error: (err as Error).message };
    }
  }

  return {
    dir,
    mesh,
    meshFile,
    schema,
    /** `postgres://…/test?schema=<schema>`: the ledger every node shares. */
    ledger,
    nodes: () => [...nodes.values()] as readonly ClusterNode[],
    /** Appends a line to `<dir>/test.log` (kept with MW_TEST_KEEP=1, beside the nodes' logs). */
    note(text: string): void {
      const line = `${new Date().toISOString()} ${text}`;
      notes.push(line);
      appendFileSync(join(dir, 'test.log'), `${line}\n`);
    },
    node: (name: string): ClusterNode => get(name),
    start,
    /** SIGKILL, then waits until the process is gone. */
    async kill(name: string): Promise<void> {
      const life = get(name).life;
      if (life === undefined) return;
      life.child.kill('SIGKILL');
      await life.exited;
    },
    /** SIGTERM, then its exit code once it has shut down (SIGKILL after `graceMs`: code null). */
    async stop(name: string, graceMs = 60_000) {
      const life = get(name).life;
      if (life === undefined) return { code: null, signal: null };
      life.child.kill('SIGTERM');
      const timer = setTimeout(() => life.child.kill('SIGKILL'), graceMs);
      const exit = await life.exited;
      clearTimeout(timer);
      return exit;
    },
    /** Sends one message over a node's API; a network failure is status 0. */
    send,
    /**
     * Sends every body, `concurrency` at a time, each to the next running node in turn; one refused
     * for the node's sake (no answer, 503) goes to the next node (a new message: the API gives the
     * id). The results are in the bodies' order: `id` set for each one a node accepted (202).
     */
    async sendAll(bodies: readonly SendBody[], concurrency = 48): Promise<SendResult[]> {
      const results: SendResult[] = new Array(bodies.length);
      let next = 0;
      let turn = 0;
      const worker = async () => {
        for (let i = next++; i < bodies.length; i = next++) {
          let result: SendResult = { status: 0, error: 'no running node' };
          const before: string[] = [];
          // A node that died, or a partition between owners, is waited out: about 15 s in all.
          for (let attempt = 0; attempt < 12; attempt++) {
            const live = [...nodes.values()].filter((n) => n.running);
            if (live.length === 0) break;
            result = await send(live[turn++ % live.length]!.name, bodies[i]!);
            if (result.status !== 0 && result.status !== 503) break;
            before.push(`${result.status} ${result.error}`);
            await new Promise((r) => setTimeout(r, Math.min(2_000, 250 * (attempt + 1))));
          }
          results[i] = before.length === 0 ? result : { ...result, retried: before };
        }
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
      return results;
    },
    /** Runs SQL against the shared database (the ledger's tables are `"<schema>".entries`). */
    query: (sql: string, params?: unknown[]) => db.query(sql, params),
    /** `meshwarden audit verify --ledger <the schema> --json`. */
    verify: () => runCli(['audit', 'verify', '--ledger', ledger, '--json']),
    /** Stops every running node (SIGTERM, all at once), then removes what the mesh left. */
    async [Symbol.asyncDispose]() {
      await Promise.all(
        [...nodes.values()].map(async (n) => {
          if (n.life === undefined) return;
          // A failed test's report shows where the test ended and the stopping began.
          n.logText += '--- the kit stops the node (SIGTERM): what follows is its shutdown ---\n';
          n.life.child.kill('SIGTERM');
          const timer = setTimeout(() => n.life?.child.kill('SIGKILL'), 30_000);
          await n.life.exited;
          clearTimeout(timer);
        }),
      );
      // MW_TEST_KEEP=1 keeps everything to look at: the dir, the schema, the stream and the bucket.
      if (process.env.MW_TEST_KEEP === undefined) {
        await dropClusterParts(mesh, db, schema);
        rmSync(dir, { recursive: true, force: true });
      }
      await db.end();
    },
  };
}

export type ClusterKit = Awaited<ReturnType<typeof openClusterKit>>;

/** The test's notes, then each node's last warnings and errors (pino level 40 and up). */
function failureReport(
  dir: string,
  notes: readonly string[],
  nodes: Iterable<{ name: string; logText: string }>,
): string {
  const kept = process.env.MW_TEST_KEEP === undefined ? 'removed; MW_TEST_KEEP=1 keeps it' : 'kept';
  const lines = [`cluster kit ${dir} (${kept}):`, ...notes];
  for (const node of nodes) {
    const worrying = node.logText
      .split('\n')
      .filter((line) => !/"level":(10|20|30)\b/.test(line) && line !== '');
    lines.push(`--- ${node.name}: ${worrying.length} lines at warn or above, or not JSON; the last 30:`);
    lines.push(...worrying.slice(-30).map((line) => line.slice(0, 400)));
  }
  return lines.join('\n');
}

/**
 * The example's folder copied to `dir`, its mesh file renamed to `mesh` and given
 * `cluster: { partitions }` (the distributed spelling of the partition count).
 */
function writeMeshCopy(dir: string, example: string, mesh: string, partitions: number): string {
  cpSync(join(REPO, 'examples', example), dir, { recursive: true });
  const file = join(dir, 'mesh.yaml');
  const text = readFileSync(file, 'utf8');
  if (!/^mesh: .*$/m.test(text)) throw new Error(`examples/${example}/mesh.yaml has no "mesh:" line`);
  if (/^(partitions|cluster):/m.test(text))
    throw new Error(`examples/${example}/mesh.yaml sets its partitions already`);
  writeFileSync(
    file,
    `${text.replace(/^mesh: .*$/m, `mesh: ${mesh}`)}\ncluster: { partitions: ${partitions} }\n`,
  );
  return file;
}

/** Deletes the mesh's stream `MW_<mesh>`, its lease bucket `MW_LEASES_<mesh>` and the schema. */
export async function dropClusterParts(mesh: string, db: pg.Pool, schema: string): Promise<void> {
  const nc = await connect({ servers: NATS });
  try {
    const jsm = await jetstreamManager(nc);
    for (const stream of [streamNameOf(mesh), `KV_${leaseBucketOf(mesh)}`]) {
      await jsm.streams.delete(stream).catch(() => {}); // absent when no node got that far
    }
  } finally {
    await nc.close();
  }
  await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}

/** Waits for the one JSON document `up --json` prints on stdout once it listens. */
function documentOf(
  child: ChildProcessWithoutNullStreams,
  exited: Life['exited'],
  log: () => string,
): Promise<NodeDocument> {
  let stdout = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      stdout += d.toString();
      try {
        const doc = JSON.parse(stdout) as NodeDocument;
        child.stdout.off('data', onData);
        // A failed start prints its errors as the document (`up --json`), then exits.
        if (typeof doc.url === 'string') resolve(doc);
        else exited.then(() => reject(new Error(`up failed to start:\n${stdout}\n${log()}`)));
      } catch {
        // not the whole document yet
      }
    };
    child.stdout.on('data', onData);
    exited.then(({ code, signal }) =>
      reject(new Error(`up exited (${code ?? signal}) before it was up:\n${stdout}\n${log()}`)),
    );
  });
}

/** A port nobody listens on now (the OS's pick), so a restarted node can take the same one. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Polls `check` every `everyMs` until it returns something other than undefined or false. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
  everyMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
