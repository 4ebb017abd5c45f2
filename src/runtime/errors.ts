import { makeError } from '../envelope/index.js';

export const runtimeError = makeError({
  MW_RUNTIME_MODULE_LOAD: 'could not load {what} module {file}: {cause}',
  MW_RUNTIME_MODULE_SHAPE: '{what} module {file} must default-export {expected}',
  MW_RUNTIME_TRANSPORT:
    'agent {agent} uses {transport}, which this version cannot run yet (only module: agents)',
  MW_RUNTIME_INPUT_JSON: 'line {line} is not valid JSON: {cause}',
  MW_RUNTIME_INPUT_SHAPE: 'line {line}: {problem}',
  MW_RUNTIME_HANDLER: 'agent {agent} failed on message {msgId}: {cause}',
  MW_RUNTIME_EXECUTOR: 'effect {effect} failed on request {msgId}: {cause}',
  MW_RUNTIME_NO_EXECUTOR: 'effect {effect} has no executor module, so request {msgId} cannot run',
  MW_RUNTIME_TIMEOUT: '{what} did not finish within {ms} ms',
  MW_RUNTIME_CLOSED: 'the mesh is closed',
});
