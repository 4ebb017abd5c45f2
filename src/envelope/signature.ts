import { createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { canonicalize } from './canonical.js';
import type { Envelope } from './types.js';

/** The bytes an envelope signature covers: the canonical envelope without `signature`. */
export function signedBytes(envelope: Envelope): Buffer {
  const { signature: _ignored, ...rest } = envelope;
  return Buffer.from(canonicalize(rest));
}

export function signEnvelope(envelope: Envelope, privateKey: KeyObject): Envelope {
  const signature = sign(null, signedBytes(envelope), privateKey).toString('base64url');
  return { ...envelope, signature };
}

/** True when the envelope carries a valid Ed25519 signature by `publicKey` (PEM or KeyObject). */
export function verifyEnvelopeSignature(envelope: Envelope, publicKey: KeyObject | string): boolean {
  if (envelope.signature === undefined) return false;
  try {
    const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
    return verify(null, signedBytes(envelope), key, Buffer.from(envelope.signature, 'base64url'));
  } catch {
    return false;
  }
}
