import { createHash, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { canonicalize, type MeshwardenError } from '../envelope/index.js';
import { causeText, ledgerError } from './errors.js';
import type { Checkpoint, PartitionHead } from './types.js';

export type UnsignedCheckpoint = Pick<Checkpoint, 'origin' | 'at' | 'partitions'>;

/** The signed text: canonical JSON of `{origin, at, partitions}` (signature and key left out). */
export function checkpointText(cp: UnsignedCheckpoint): string {
  return canonicalize({
    origin: cp.origin,
    at: cp.at,
    partitions: cp.partitions.map((p) => ({ partition: p.partition, size: p.size, head: p.head })),
  });
}

export function signCheckpoint(cp: UnsignedCheckpoint, privateKey: KeyObject, publicKey: string): Checkpoint {
  const signature = sign(null, Buffer.from(checkpointText(cp)), privateKey).toString('base64url');
  return { origin: cp.origin, at: cp.at, partitions: cp.partitions, signature, publicKey };
}

/** True when `signature` is a valid Ed25519 signature of the checkpoint text by `publicKey`. */
export function verifyCheckpointSignature(cp: Checkpoint): boolean {
  try {
    const key = createPublicKey(cp.publicKey);
    if (key.asymmetricKeyType !== 'ed25519') return false;
    return verify(null, Buffer.from(checkpointText(cp)), key, Buffer.from(cp.signature, 'base64url'));
  } catch {
    return false;
  }
}

/**
 * A public key's fingerprint, `sha256:<hex>` of its DER SubjectPublicKeyInfo: what names the key
 * that signed a checkpoint, shorter than its PEM; undefined for a key that does not parse.
 */
export function keyFingerprint(publicKey: string): string | undefined {
  try {
    const der = createPublicKey(publicKey).export({ type: 'spki', format: 'der' });
    return `sha256:${createHash('sha256').update(der).digest('hex')}`;
  } catch {
    return undefined;
  }
}

const HEAD = /^sha256:[0-9a-f]{64}$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * Reads a checkpoint from parsed JSON (or JSON text), e.g. an exported checkpoint file. Returns the
 * checkpoint, or an MW_LEDGER_CHECKPOINT error value pointing at the first bad field. It does not
 * check the signature: `verifyCheckpointSignature` and `verifyChain` do.
 */
export function parseCheckpoint(json: unknown): Checkpoint | MeshwardenError {
  let value = json;
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json);
    } catch (err) {
      return bad('', `it is not valid JSON (${causeText(err)})`);
    }
  }
  if (!isObject(value)) return bad('', 'it is not a JSON object');
  const { origin, at, partitions, signature, publicKey } = value;
  if (typeof origin !== 'string' || origin === '') return bad('/origin', 'origin must be a non-empty string');
  if (typeof at !== 'number' || !Number.isFinite(at))
    return bad('/at', 'at must be a number (ms since epoch)');
  if (!Array.isArray(partitions)) return bad('/partitions', 'partitions must be an array');
  const heads: PartitionHead[] = [];
  const seen = new Set<number>();
  for (const [i, p] of partitions.entries()) {
    const at = `/partitions/${i}`;
    if (!isObject(p)) return bad(at, 'each partition must be an object');
    if (!isCount(p.partition)) return bad(`${at}/partition`, 'partition must be a non-negative integer');
    if (seen.has(p.partition)) return bad(`${at}/partition`, `partition ${p.partition} appears twice`);
    if (!isCount(p.size)) return bad(`${at}/size`, 'size must be a non-negative integer');
    if (typeof p.head !== 'string' || !HEAD.test(p.head))
      return bad(`${at}/head`, 'head must be sha256:<64 hex>');
    seen.add(p.partition);
    heads.push({ partition: p.partition, size: p.size, head: p.head });
  }
  if (typeof signature !== 'string' || !BASE64URL.test(signature)) {
    return bad('/signature', 'signature must be a base64url string');
  }
  if (typeof publicKey !== 'string' || !publicKey.includes('BEGIN PUBLIC KEY')) {
    return bad('/publicKey', 'publicKey must be a PEM SPKI public key');
  }
  return { origin, at, partitions: heads, signature, publicKey };
}

function bad(pointer: string, problem: string): MeshwardenError {
  return ledgerError('MW_LEDGER_CHECKPOINT', { problem }, { location: { pointer } });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}
