import { type Envelope, MAX_JSON_DEPTH, parseSource, readEnvelope } from '../../envelope/index.js';
import type { AgentSpec, IngressSpec } from '../../policy/index.js';
import { type DeltaSink, type GateFrame, type Identification, type Stage, verdict } from '../context.js';
import { formatDuration, moreProblems } from '../format.js';
import type { GateInput, Unreadable, Verdict } from '../types.js';
import { senderStop } from './envelope-sender.js';

/**
 * Stage 1, envelope & identity. Stops: quarantine `envelope.too_deep`, `envelope.not_json` (input
 * the runtime could not measure), `envelope.malformed`, `envelope.id_taken`,
 * `envelope.source_mismatch`, `envelope.causation_mismatch`, `envelope.late_emit`,
 * `envelope.unmapped`, `envelope.too_large`, `envelope.foreign_mesh`, `envelope.version_mismatch`,
 * `envelope.ingress_versioned`, `envelope.unknown_source`, `envelope.signature_missing`,
 * `envelope.signature_invalid`; deny `envelope.duplicate_id`. The runtime's facts (a taken id, a
 * remote's claims, a late emission, a reply mapping that failed) stop a readable envelope before
 * anything else, as they did when the runtime refused such envelopes itself. An external id that passes identity and is not a
 * duplicate is remembered (a `seen` delta) whatever the final verdict. The sender's own checks
 * (an agent's version and signature, an ingress, an unknown name) are in envelope-sender.ts.
 */
export const envelopeStage: Stage<GateFrame, Identification> = {
  name: 'envelope',
  run(ctx, out) {
    const found: Found = {
      stop: undefined,
      envelope: undefined,
      sourceName: '',
      agent: undefined,
      ingress: undefined,
    };
    found.stop = identity.check(ctx, out, found);
    // Without a stop, check has found the envelope and its sender.
    return found as Identification;
  },
};

/** What the checks have found so far: each fact goes in as soon as it is known. */
type Found = {
  stop: Verdict | undefined;
  envelope: Envelope | undefined;
  sourceName: string;
  agent: AgentSpec | undefined;
  ingress: IngressSpec | undefined;
};

/** The checks, in order; a stop carries what was found before it. */
const identity = {
  check(ctx: GateFrame, out: DeltaSink, found: Found): Verdict | undefined {
    // First: such a candidate must not be walked at all.
    if (ctx.input.unreadable !== undefined) return unreadable(ctx.input.unreadable);
    const read = readEnvelope(ctx.input.candidate);
    if (!read.ok) {
      const issues = read.issues.map((i) => ({ pointer: i.pointer, message: i.message }));
      const first = issues[0]!;
      return {
        ...verdict(
          'quarantine',
          'envelope',
          'envelope.malformed',
          `The message is not a well-formed envelope: ${first.message}${moreProblems(issues.length)}.`,
        ),
        issues,
      };
    }
    const env = read.envelope;
    found.envelope = env;
    const { policy, input } = ctx;
    if (
      input.takenId !== undefined ||
      input.claimed !== undefined ||
      input.late === true ||
      input.unmapped !== undefined
    ) {
      const stop = factStop(env, input);
      if (stop !== undefined) return stop;
    }
    const guard = policy.guards.envelope;
    if (input.size > guard.maxBytes) {
      return verdict(
        'quarantine',
        'envelope',
        'envelope.too_large',
        `The envelope is ${input.size} bytes, over the limit of ${guard.maxBytes} bytes.`,
      );
    }
    // readEnvelope has checked that the source parses.
    const src = parseSource(env.source)!;
    found.sourceName = src.name;
    if (src.mesh !== policy.mesh) {
      return verdict(
        'quarantine',
        'envelope',
        'envelope.foreign_mesh',
        `The source ${env.source} belongs to mesh "${src.mesh}", not to this mesh "${policy.mesh}".`,
      );
    }
    const sender = senderStop(policy, src, env, found);
    if (sender !== undefined) return sender;
    if (input.external) {
      const seenAt = ctx.state.seen(env.id);
      if (seenAt !== undefined && ctx.now - seenAt <= guard.dedupeWindowMs) {
        return duplicateId(
          `Message id ${env.id} was already received ${formatDuration(ctx.now - seenAt)} ago; duplicates within ${formatDuration(guard.dedupeWindowMs)} are refused.`,
        );
      }
      // Remembered whatever the later stages decide: the ledger records this id with its verdict, so
      // a later message must not reuse it, admitted or not. Identity failures above are not
      // remembered, so an unknown or unsigned sender cannot claim ids ahead of a real one.
      out.always.push({ at: ctx.now, id: env.id, kind: 'seen' });
    }
    return undefined;
  },
};

/** Input with no JSON text for the size guard to measure: nested too deep, or not JSON at all. */
function unreadable(why: Unreadable): Verdict {
  if ('nestedAt' in why) {
    const pointer = why.nestedAt;
    return {
      ...verdict(
        'quarantine',
        'envelope',
        'envelope.too_deep',
        `The message nests deeper than ${MAX_JSON_DEPTH} levels (at ${pointer}).`,
      ),
      issues: [{ pointer, message: `nested deeper than ${MAX_JSON_DEPTH} levels` }],
    };
  }
  return verdict(
    'quarantine',
    'envelope',
    'envelope.not_json',
    `The envelope has no canonical JSON form: ${why.notJson}.`,
  );
}

/** A duplicate id, whether the dedupe window or the ledger caught it: the same verdict either way. */
function duplicateId(detail: string): Verdict {
  return verdict('deny', 'envelope', 'envelope.duplicate_id', detail);
}

/**
 * The stops for what the runtime found out (GateInput's RuntimeFacts), in the order it used to
 * check them: a taken id, a claimed source, a claimed causation, a late emission, then a reply
 * mapping that failed (the emission carries the answer as it came, for review). An agent's
 * envelope came from the runtime's factory, so its causation is the message its handler answered.
 */
function factStop(env: Envelope, input: GateInput): Verdict | undefined {
  // readEnvelope has checked that the source parses.
  const src = parseSource(env.source)!;
  if (input.takenId !== undefined) {
    // An ingress (no version) sent a root message; an agent (versioned source) answered one.
    if (src.version === undefined) {
      return duplicateId(
        `Message id ${input.takenId} already names a message in the ledger; each message needs an id of its own.`,
      );
    }
    return verdict(
      'quarantine',
      'envelope',
      'envelope.id_taken',
      `Agent ${src.name} answered with an event whose id ${input.takenId} already names another message in the ledger.`,
    );
  }
  const claimed = input.claimed;
  if (claimed?.source !== undefined && claimed.source !== env.source) {
    return verdict(
      'quarantine',
      'envelope',
      'envelope.source_mismatch',
      `Agent ${src.name} answered with an event claiming source ${claimed.source}; it may only speak as ${env.source}.`,
    );
  }
  if (claimed?.causationid !== undefined && claimed.causationid !== env.causationid) {
    return verdict(
      'quarantine',
      'envelope',
      'envelope.causation_mismatch',
      `Agent ${src.name} answered message ${env.causationid} with an event caused by ${claimed.causationid}.`,
    );
  }
  if (input.late === true) {
    return verdict(
      'quarantine',
      'envelope',
      'envelope.late_emit',
      `agent ${src.name} emitted ${env.type} after its handler for message ${env.causationid} had returned; handlers must emit before they return.`,
    );
  }
  const unmapped = input.unmapped;
  if (unmapped !== undefined) {
    return {
      ...verdict(
        'quarantine',
        'envelope',
        'envelope.unmapped',
        `Agent ${src.name} answered message ${env.causationid}, but its reply mapping failed at ${unmapped.pointer}: ${unmapped.problem}.`,
      ),
      issues: [{ pointer: unmapped.pointer, message: unmapped.problem }],
    };
  }
  return undefined;
}
