import { type Envelope, type SourceRef, verifyEnvelopeSignature } from '../../envelope/index.js';
import type { AgentSpec, IngressSpec, Policy } from '../../policy/index.js';
import { verdict } from '../context.js';
import type { Verdict } from '../types.js';

/** Where the envelope stage keeps who sent the message (its `Found`), filled in as soon as known. */
type Sender = { agent: AgentSpec | undefined; ingress: IngressSpec | undefined };

/**
 * The envelope stage's checks of the sender a source of this mesh names. Stops: quarantine
 * `envelope.version_mismatch`, `envelope.signature_missing`, `envelope.signature_invalid` (a
 * registered agent sends its registered version and, if it has a public key, a signature that
 * verifies), `envelope.unknown_source` (neither an agent nor an ingress),
 * `envelope.ingress_versioned` (an ingress carries no version). The agent or ingress goes into
 * `found` before its own checks, so a stop carries it.
 */
export function senderStop(
  policy: Pick<Policy, 'mesh' | 'agents' | 'ingress'>,
  src: SourceRef,
  env: Envelope,
  found: Sender,
): Verdict | undefined {
  const agent = policy.agents.get(src.name);
  if (agent !== undefined) {
    found.agent = agent;
    if (src.version !== agent.version) {
      const sent = src.version === undefined ? 'no version' : `version ${src.version}`;
      return verdict(
        'quarantine',
        'envelope',
        'envelope.version_mismatch',
        `Agent ${src.name} sent ${sent}, but the policy registers version ${agent.version}.`,
        src.name,
      );
    }
    if (agent.publicKey !== undefined) {
      if (env.signature === undefined) {
        return verdict(
          'quarantine',
          'envelope',
          'envelope.signature_missing',
          `Agent ${src.name} must sign its envelopes, and this one carries no signature.`,
          src.name,
        );
      }
      if (!verifyEnvelopeSignature(env, agent.publicKey)) {
        return verdict(
          'quarantine',
          'envelope',
          'envelope.signature_invalid',
          `The signature on this envelope does not match agent ${src.name}'s registered public key.`,
          src.name,
        );
      }
    }
  } else {
    const ingress = policy.ingress.get(src.name);
    if (ingress === undefined) {
      return verdict(
        'quarantine',
        'envelope',
        'envelope.unknown_source',
        `"${src.name}" is neither a registered agent nor an ingress of mesh "${policy.mesh}".`,
      );
    }
    found.ingress = ingress;
    if (src.version !== undefined) {
      return verdict(
        'quarantine',
        'envelope',
        'envelope.ingress_versioned',
        `Ingress ${src.name} is not an agent and carries no version, but the source says @${src.version}.`,
        src.name,
      );
    }
  }
  return undefined;
}
