export {
  breakerCountKey,
  breakerKey,
  bucketKey,
  budgetKey,
  LOOP_BREAKER,
  PILOT_BREAKER,
  parseBreakerKey,
} from './keys.js';
export type { StateStore } from './store.js';
export type {
  BreakerAction,
  BreakerState,
  BucketState,
  EchoMark,
  StateDelta,
  StateView,
  WindowState,
} from './types.js';
