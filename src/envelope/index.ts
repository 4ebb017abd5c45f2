export { countInAncestry, extendAncestry, hopDigest, parseAncestry } from './ancestry.js';
export { canonicalize, digestOf, isCanonicalText, sha256 } from './canonical.js';
export { closest } from './closest.js';
export { escapePointer, MAX_JSON_DEPTH, tooDeepAt } from './depth.js';
export { duplicateKeyAt } from './duplicate-keys.js';
export {
  errorText,
  fillTemplate,
  formatLocation,
  isMeshwardenError,
  type Location,
  MeshwardenError,
  makeError,
  quotedText,
} from './error.js';
export { brokenTextAt, hasNonFinite, type NonFinite, nonFiniteAt, nonFiniteText } from './finite.js';
export { formatUuidV7, isUuid } from './id.js';
export { plainJsonSizeBound } from './json-size.js';
export { partitionOf } from './partition.js';
export { ENVELOPE_FIELDS, isTypeName, readEnvelope, type ShapeIssue, TYPE_NAME } from './shape.js';
export { SIGNED_ATTRIBUTES, signEnvelope, signedBytes, verifyEnvelopeSignature } from './signature.js';
export { formatSource, parseSource, type SourceRef } from './source.js';
export {
  caseTraceparent,
  childTraceparent,
  spanIdIsTailOf,
  spanIdOf,
  traceIdFor,
  traceIdOf,
} from './trace.js';
export type { Envelope, GatedKind, JsonObject, JsonPrimitive, JsonValue } from './types.js';
