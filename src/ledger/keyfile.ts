import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { causeText, ledgerError } from './errors.js';

export type SigningKey = { readonly privateKey: KeyObject; readonly publicKey: string };

/** Reads the Ed25519 checkpoint key (PEM PKCS8), creating it with mode 0600 when missing. */
export function loadSigningKey(file: string): SigningKey {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw keyError(file, 'read', err);
    pem = createKeyFile(file);
  }
  try {
    const privateKey = createPrivateKey(pem);
    if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error('not an Ed25519 key');
    const publicKey = createPublicKey(privateKey).export({ format: 'pem', type: 'spki' }).toString();
    return { privateKey, publicKey };
  } catch (err) {
    throw keyError(file, 'parsed', err);
  }
}

function createKeyFile(file: string): string {
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  try {
    // The key's directory (the data directory) may not exist yet for a PostgreSQL ledger: made 0700,
    // as `run` makes it.
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    // 'wx': if another process created the key meanwhile, use theirs rather than overwrite it.
    writeFileSync(file, pem, { mode: 0o600, flag: 'wx' });
    return pem;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(file, 'utf8');
    throw keyError(file, 'created', err);
  }
}

function keyError(file: string, action: string, err: unknown) {
  return ledgerError('MW_LEDGER_KEY', { file, action, cause: causeText(err) }, { cause: err });
}
