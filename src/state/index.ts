export {
  type BreakerCount,
  type BreakerTrigger,
  breakerOpenAt,
  countTowardBreaker,
  openedBreaker,
} from './breaker.js';
export { mergeDriftStates } from './drift-merge.js';
export {
  baselineOf,
  currentOf,
  DRIFT_EVAL_EVERY,
  DRIFT_VERSIONS,
  type DriftBaseline,
  type DriftEvaluation,
  type DriftSample,
  type DriftSpec,
  type DriftState,
  type DriftStateJson,
  driftAdd,
  driftDigest,
  driftReset,
  driftStateFor,
  driftStateFromJson,
  driftStateToJson,
  evaluateDrift,
  newDriftState,
  RING_SLICES,
  versionCount,
} from './drift-monitor.js';
export {
  categoryBins,
  compareField,
  type DriftMetric,
  type FieldScore,
  numericBins,
  PSI_BINS,
  PSI_EPSILON,
  psi,
  round,
} from './drift-score.js';
export {
  addValue,
  bucketEdges,
  bucketOf,
  DRIFT_TYPES,
  type DriftType,
  type DriftValue,
  driftValueAt,
  type FieldSketch,
  type FieldSketchJson,
  mean,
  mergeInto,
  newFieldSketch,
  quantile,
  sketchFromJson,
  sketchToJson,
  stddev,
} from './drift-sketch.js';
export {
  ECHO_MAX_FINGERPRINTS,
  ECHO_MIN_CHARS,
  ECHO_MIN_CHARS_FLOOR,
  echoFingerprints,
  findEffectMark,
  isReplyToken,
  matchEcho,
  matchReplyToken,
  normalizeEchoText,
  REPLY_TOKEN_MAX,
  REPLY_TOKEN_MIN,
} from './echo.js';
export { bucketIsNeutral, type TakeResult, takeToken } from './gcra.js';
export { holdOpen, holdRelease, holdTimeoutAt } from './hold.js';
export {
  breakerCountKey,
  breakerKey,
  bucketKey,
  budgetKey,
  LOOP_BREAKER,
  PILOT_BREAKER,
  parseBreakerCountKey,
  parseBreakerKey,
} from './keys.js';
export { createMemoryState, ECHO_MARKS_PER_SUBJECT, type MemoryStateOptions } from './memory.js';
export type { StateStore } from './store.js';
export type {
  BreakerAction,
  BreakerState,
  BucketState,
  DriftAlarm,
  EchoMark,
  HoldState,
  HoldVerdict,
  StateDelta,
  StateView,
  WindowState,
} from './types.js';
export { slotMsFor, WINDOW_SLOTS, windowAdd, windowIsNeutral, windowSum } from './window.js';
