import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Logger, pino } from 'pino';
import {
  ENTRY,
  type Envelope,
  type LedgerEntry,
  type Mesh,
  type OpenedMesh,
  openMesh,
  type RetryOptions,
  type Transport,
} from '../runtime/index.js';

// The transport tests' one way to "a mesh with one remote agent (or effect)": its directory, a fresh
// mesh of it reached through the transport under test, the messages sent in, and what the ledger says.

/** A test mesh's files: mesh.yaml by line, contracts (JSON Schema text) by type, agent modules by file name. */
export type MeshFiles = {
  readonly yaml: readonly string[];
  readonly contracts?: Readonly<Record<string, string>>;
  readonly agents?: Readonly<Record<string, string>>;
};

/** Writes a mesh directory (`contracts/`, `agents/`, `mesh.yaml`) into `dir`, by default a fresh temp one. */
export function writeMeshDir(
  files: MeshFiles,
  dir = mkdtempSync(join(tmpdir(), 'meshwarden-mesh-')),
): string {
  mkdirSync(join(dir, 'contracts'), { recursive: true });
  mkdirSync(join(dir, 'agents'), { recursive: true });
  writeFileSync(join(dir, 'mesh.yaml'), files.yaml.join('\n'));
  for (const [type, schema] of Object.entries(files.contracts ?? {}))
    writeFileSync(join(dir, 'contracts', `${type}.json`), schema);
  for (const [file, source] of Object.entries(files.agents ?? {}))
    writeFileSync(join(dir, 'agents', file), source);
  return dir;
}

/** A quiet logger: the tests read the ledger, not the logs. */
const log = pino({ level: 'silent' });

/** Retries fast enough for a test: two tries, a millisecond or two apart. */
const QUICK_RETRY: Partial<RetryOptions> = { attempts: 2, initialDelayMs: 1, maxDelayMs: 2 };

export type TestMesh = OpenedMesh & AsyncDisposable;

/**
 * Opens a fresh mesh of `meshDir` (a data directory of its own, so that meshes of one directory never
 * share a ledger) whose remote agents and effects are reached through `transport`. A mesh that does
 * not open is a broken test: it throws with the issues. Use it with `await using`.
 */
export async function meshWithAgent(
  meshDir: string,
  transport: Transport,
  opts: { readonly retry?: Partial<RetryOptions>; readonly log?: Logger } = {},
): Promise<TestMesh> {
  const opened = await openMesh({
    meshFile: join(meshDir, 'mesh.yaml'),
    dataDir: join(meshDir, `data-${randomUUID()}`),
    log: opts.log ?? log,
    transports: [transport],
    retry: opts.retry ?? QUICK_RETRY,
  });
  if (!opened.ok) throw new Error(JSON.stringify(opened));
  return opened.opened;
}

type RootMessage = Parameters<Mesh['inject']>[1];

/** Sends each message through `ingress`, one after the other (the mesh settles in between); returns their decisions. */
export async function sendEach(
  o: OpenedMesh,
  ingress: string,
  messages: readonly RootMessage[],
): Promise<LedgerEntry[]> {
  const roots: LedgerEntry[] = [];
  for (const message of messages) {
    roots.push(await o.mesh.inject(ingress, message));
    await o.mesh.idle();
  }
  return roots;
}

/** A gate decision as its ledger entry holds it. */
export type Decided = {
  readonly envelope: Envelope;
  readonly verdict: { decision: string; stage: string; reason: string; issues?: unknown };
};

/** The decisions among `entries`, in order. */
export const decisionsOf = (entries: readonly LedgerEntry[]): Decided[] =>
  entries.filter((e) => e.kind === ENTRY.decision).map((e) => e.data as Decided);

/** Every entry of the mesh's ledger, in order. */
export function entriesOf(o: OpenedMesh): Promise<LedgerEntry[]> {
  return Array.fromAsync(o.ledger.scan());
}

/** The error codes of the entries of one kind (`dead-letter`, `delivery.failed`), in order. */
export const errorCodesOf = (kind: string) => (entries: readonly LedgerEntry[]) =>
  entries.filter((e) => e.kind === kind).map((e) => (e.data as { error: { code: string } }).error.code);
export const deadLetterCodes = errorCodesOf(ENTRY.deadLetter);
export const failedCodes = errorCodesOf(ENTRY.deliveryFailed);
