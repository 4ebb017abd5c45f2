import { makeError } from '../envelope/index.js';

export const telemetryError = makeError({
  MW_TELEMETRY_ENV: 'environment variable {name} is "{value}": {problem}',
});
