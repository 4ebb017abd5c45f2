import { createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { canonicalize } from './canonical.js';
import type { Envelope } from './types.js';

/**
 * What an agent authors, and so what its signature covers: not the attributes the warden fills in
 * (correlation, hop, ancestry, trace, digests, content type), so a remote agent can sign the event it
 * sends and the signature still holds on the envelope the warden completes from it.
 */
export const SIGNED_ATTRIBUTES = [
  'causationid',
  'data',
  'id',
  'model',
  'source',
  'subject',
  'target',
  'time',
  'type',
] as const;

/** The bytes an envelope signature covers: RFC 8785 canonical JSON of its `SIGNED_ATTRIBUTES`. */
export function signedBytes(envelope: Envelope): Buffer {
  const signed: Record<string, unknown> = {};
  for (const key of SIGNED_ATTRIBUTES) {
    if (envelope[key] !== undefined) signed[key] = envelope[key];
  }
  return Buffer.from(canonicalize(signed));
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
