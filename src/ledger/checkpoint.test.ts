import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { canonicalize, isMeshwardenError } from '../envelope/index.js';
import { checkpointText, keyFingerprint, parseCheckpoint, verifyCheckpointSignature } from './checkpoint.js';
import { openLedger } from './sqlite.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mw-checkpoint-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const record = { kind: 'decision', at: 1, msgId: 'a', data: {} };

describe('checkpoints', () => {
  it('signs the heads of all partitions and stores the checkpoint', async () => {
    const dir = tempDir();
    await using ledger = openLedger({ file: join(dir, 'ledger.db'), origin: 'retention' });
    const first = await ledger.checkpoint();
    expect(first.partitions).toEqual([]);
    ledger.append(record);
    ledger.append(record, 2);
    const cp = await ledger.checkpoint();
    expect(cp).toMatchObject({ origin: 'retention', partitions: ledger.heads() });
    expect(cp.partitions.map((p) => [p.partition, p.size])).toEqual([
      [0, 1],
      [2, 1],
    ]);
    expect(verifyCheckpointSignature(cp)).toBe(true);
    expect(await ledger.checkpoints()).toEqual([first, cp]);
    expect(await ledger.verify()).toMatchObject({ ok: true, checkpoints: 2 });
    // The key: PKCS8 PEM next to the ledger file, readable by its owner only.
    const keyFile = join(dir, 'ledger.key');
    expect(readFileSync(keyFile, 'utf8')).toContain('BEGIN PRIVATE KEY');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
  });

  it('reuses an existing key file, at the given path', async () => {
    const dir = tempDir();
    const keyFile = join(dir, 'signing.key');
    const one = openLedger({ file: join(dir, 'a.db'), origin: 'x', keyFile });
    const a = await one.checkpoint();
    await one.close();
    await using two = openLedger({ file: join(dir, 'b.db'), origin: 'x', keyFile });
    expect((await two.checkpoint()).publicKey).toBe(a.publicKey);
  });

  it('fails verification when any signed field changes', async () => {
    await using ledger = openLedger({ file: join(tempDir(), 'ledger.db'), origin: 'x' });
    await ledger.append(record);
    const cp = await ledger.checkpoint();
    const head = cp.partitions[0]!;
    for (const changed of [
      { ...cp, origin: 'y' },
      { ...cp, at: cp.at + 1 },
      { ...cp, partitions: [{ ...head, size: 2 }] },
      { ...cp, partitions: [{ ...head, head: `sha256:${'0'.repeat(64)}` }] },
      { ...cp, partitions: [] },
      { ...cp, publicKey: 'not a key' },
    ]) {
      expect(verifyCheckpointSignature(changed)).toBe(false);
    }
  });

  it('signs the canonical text of origin, at and partitions', () => {
    const text = checkpointText({ origin: 'o', at: 5, partitions: [{ partition: 0, size: 1, head: 'h' }] });
    expect(text).toBe(
      canonicalize({ at: 5, origin: 'o', partitions: [{ head: 'h', partition: 0, size: 1 }] }),
    );
  });
});

describe('parseCheckpoint', () => {
  it('reads an exported checkpoint, as JSON text or parsed', async () => {
    await using ledger = openLedger({ file: join(tempDir(), 'ledger.db'), origin: 'x' });
    await ledger.append(record);
    const cp = await ledger.checkpoint();
    const text = JSON.stringify(cp, null, 2);
    expect(parseCheckpoint(text)).toEqual(cp);
    expect(parseCheckpoint(JSON.parse(text))).toEqual(cp);
  });

  const valid = {
    origin: 'x',
    at: 1,
    partitions: [{ partition: 0, size: 1, head: `sha256:${'a'.repeat(64)}` }],
    signature: 'abc',
    publicKey: '-----BEGIN PUBLIC KEY-----\n…',
  };
  it.each<[string, unknown, string]>([
    ['text that is not JSON', '{', ''],
    ['an array', [], ''],
    ['an empty origin', { ...valid, origin: '' }, '/origin'],
    ['a string at', { ...valid, at: '1' }, '/at'],
    ['partitions not an array', { ...valid, partitions: {} }, '/partitions'],
    [
      'a negative size',
      { ...valid, partitions: [{ ...valid.partitions[0], size: -1 }] },
      '/partitions/0/size',
    ],
    ['a bad head', { ...valid, partitions: [{ ...valid.partitions[0], head: 'x' }] }, '/partitions/0/head'],
    [
      'a repeated partition',
      { ...valid, partitions: [valid.partitions[0], valid.partitions[0]] },
      '/partitions/1/partition',
    ],
    ['a signature that is not base64url', { ...valid, signature: 'a+b' }, '/signature'],
    ['a missing public key', { ...valid, publicKey: undefined }, '/publicKey'],
  ])('rejects %s with MW_LEDGER_CHECKPOINT at its pointer', (_, input, pointer) => {
    const result = parseCheckpoint(input);
    expect(isMeshwardenError(result)).toBe(true);
    expect(result).toMatchObject({ code: 'MW_LEDGER_CHECKPOINT', location: { pointer } });
  });
});

describe('keyFingerprint', () => {
  it('names a key by the sha256 of its DER SubjectPublicKeyInfo, the same from any PEM of it', () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const der = publicKey.export({ type: 'spki', format: 'der' });
    const expected = `sha256:${createHash('sha256').update(der).digest('hex')}`;
    expect(keyFingerprint(pem)).toBe(expected);
    expect(keyFingerprint(pem.replace(/\n/g, '\r\n'))).toBe(expected);
  });

  it('is undefined for text that is no key', () => {
    expect(keyFingerprint('not a key')).toBeUndefined();
  });
});
