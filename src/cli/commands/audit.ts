import { existsSync } from 'node:fs';
import { type FileHandle, open, readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { finished } from 'node:stream/promises';
import {
  type Checkpoint,
  isMeshwardenError,
  keyFingerprint,
  ledgerKeyFile,
  parseCheckpoint,
  sizeOf,
  verifyCheckpointSignature,
} from '../../runtime/index.js';
import { cliError, EXIT } from '../errors.js';
import { type LedgerPlace, openExistingLedger, sayProgress } from '../ledger-access.js';
import type { Output } from '../output.js';
import { drained } from '../stdout.js';

/** `audit verify`: exit 0 when every chain is intact, 1 naming the first bad entry. */
export async function auditVerify(opts: LedgerPlace & { checkpoint?: string }, out: Output): Promise<number> {
  const extra: Checkpoint[] = [];
  if (opts.checkpoint !== undefined) {
    const loaded = await readCheckpointFile(opts.checkpoint, out);
    if (loaded === undefined) return EXIT.usage;
    // Said of the file, before the ledger is read: the ledger is not what failed.
    if (!verifyCheckpointSignature(loaded)) return badCheckpointFile(opts.checkpoint, loaded, out);
    extra.push(loaded);
  }
  const ledger = await openExistingLedger(opts, out);
  if (ledger === undefined) return EXIT.usage;
  await using _ledger = ledger;
  const onProgress = sayProgress(out, 'verified', sizeOf(ledger.heads()));
  const result = await ledger.verify({ checkpoints: extra, onProgress });
  // Whose keys signed what was verified: an auditor checks each is one they expect.
  const signedBy = result.ok ? signers([...(await ledger.checkpoints()), ...extra]) : [];
  // The key of the file given, which an auditor compares with the one they expect.
  const checkpointKey = extra[0] === undefined ? undefined : keyFingerprint(extra[0].publicKey);
  if (out.json) {
    out.document(result.ok ? { ...result, signedBy, ...(checkpointKey ? { checkpointKey } : {}) } : result);
  } else if (result.ok) {
    out.line(`intact: ${result.entries} entries, ${result.checkpoints} checkpoint(s) verified`);
    for (const h of result.heads) out.line(`partition ${h.partition}: ${h.size} entries, head ${h.head}`);
    for (const s of signedBy) out.line(`signed by key ${s.key}: ${s.checkpoints} checkpoint(s)`);
    if (checkpointKey !== undefined) out.line(`${opts.checkpoint} was signed by key ${checkpointKey}`);
  } else {
    out.line(`TAMPERED: ${result.problem} at partition ${result.partition} entry ${result.seq}`);
    out.line(result.detail);
    if (result.expected !== undefined) out.line(`expected ${result.expected}`);
    if (result.actual !== undefined) out.line(`actual   ${result.actual}`);
  }
  return result.ok ? EXIT.ok : EXIT.failed;
}

/** `audit checkpoint`: signs the current heads; prints the checkpoint (keep a copy outside the data dir). */
export async function auditCheckpoint(opts: LedgerPlace & { out?: string }, out: Output): Promise<number> {
  const ledger = await openExistingLedger(opts, out);
  if (ledger === undefined) return EXIT.usage;
  await using _ledger = ledger;
  // The output file is opened first: a checkpoint is stored only when it can also be kept outside.
  const file = opts.out === undefined ? undefined : await openOutput(opts.out, out);
  if (file === null) return EXIT.usage;
  await using _file = file;
  // The key the ledger signs with: in the data directory, made on first use.
  const keyFile = ledgerKeyFile(resolve(opts.data));
  const madeNow = !existsSync(keyFile);
  let checkpoint: Checkpoint;
  try {
    checkpoint = await ledger.checkpoint();
  } catch (err) {
    // A key that cannot be read or made (MW_LEDGER_KEY) is one plain line, and no output file.
    if (!isMeshwardenError(err)) throw err;
    out.fail(err);
    return EXIT.failed;
  }
  const made = madeNow ? 'a new key, made now in' : 'the key in';
  out.note(`signed with ${made} ${keyFile} (key ${keyFingerprint(checkpoint.publicKey)})`);
  if (file !== undefined) {
    await file.writeFile(`${JSON.stringify(checkpoint, null, 2)}\n`);
    out.note(`checkpoint written to ${opts.out}`);
  }
  out.document(checkpoint);
  return EXIT.ok;
}

/**
 * A checkpoint file whose signature does not verify with the key it carries: changed after it was
 * signed. Told as verify tells a bad signature (exit 1, `bad-signature`), naming the file.
 */
function badCheckpointFile(file: string, cp: Checkpoint, out: Output): number {
  const detail = `the checkpoint in ${file} has a signature that does not verify with the key it carries (${keyFingerprint(cp.publicKey) ?? 'unreadable'}): it was changed after it was signed; the ledger was not read`;
  const failed = { ok: false, entries: 0, problem: 'bad-signature', partition: 0, seq: 0, detail, file };
  if (out.json) out.document(failed);
  else {
    out.line(`TAMPERED: bad-signature in the checkpoint file ${file}`);
    out.line(detail);
  }
  return EXIT.failed;
}

/** The keys that signed `checkpoints` (each once, by fingerprint), with how many each signed. */
function signers(checkpoints: readonly Checkpoint[]): { key: string; checkpoints: number }[] {
  const seen = new Map<string, Set<string>>();
  for (const cp of checkpoints) {
    const key = keyFingerprint(cp.publicKey) ?? 'unreadable';
    // A checkpoint given that is also stored is one checkpoint (as verify counts it).
    seen.set(key, (seen.get(key) ?? new Set()).add(cp.signature));
  }
  return [...seen].map(([key, signatures]) => ({ key, checkpoints: signatures.size }));
}

/** Opens `--out` for writing, or says why not (MW_CLI_OUT_FILE) and answers null. */
async function openOutput(path: string, out: Output): Promise<FileHandle | null> {
  try {
    return await open(path, 'w');
  } catch (cause) {
    out.fail(cliError('MW_CLI_OUT_FILE', { file: path, cause: (cause as Error).message }));
    return null;
  }
}

/**
 * `audit export`: every entry as JSON Lines, in (partition, seq) order, to stdout or --out. A reader
 * that stops reading (`| head`) ends the export quietly, with exit 0.
 */
export async function auditExport(opts: LedgerPlace & { out?: string }, out: Output): Promise<number> {
  const ledger = await openExistingLedger(opts, out);
  if (ledger === undefined) return EXIT.usage;
  await using _ledger = ledger;
  const file = opts.out === undefined ? undefined : await openOutput(opts.out, out);
  if (file === null) return EXIT.usage;
  const toFile = file !== undefined;
  const sink = file === undefined ? process.stdout : file.createWriteStream();
  // A failed write stops the loop and is read back below (stdout's by program.ts: see stdout.ts).
  if (toFile) sink.on('error', () => {});
  let count = 0;
  for await (const entry of ledger.scan()) {
    const more = sink.write(`${JSON.stringify(entry)}\n`);
    count++;
    if (!more && !(await drained(sink))) break;
  }
  if (toFile) {
    sink.end();
    await finished(sink);
    out.note(`${count} entries written to ${opts.out}`);
  }
  return EXIT.ok;
}

async function readCheckpointFile(file: string, out: Output): Promise<Checkpoint | undefined> {
  try {
    const parsed = parseCheckpoint(JSON.parse(await readFile(file, 'utf8')));
    if (isMeshwardenError(parsed)) throw parsed;
    return parsed;
  } catch (cause) {
    out.fail(cliError('MW_CLI_CHECKPOINT_FILE', { file, cause: (cause as Error).message }));
    return undefined;
  }
}
