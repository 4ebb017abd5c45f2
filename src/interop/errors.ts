import { makeError } from '../runtime/index.js';

export const interopError = makeError({
  MW_INTEROP_WORKFLOW_NO_STOP:
    'the LlamaIndex workflow of {who} ended without its stop event on message {msgId}',
  MW_INTEROP_UNREACHABLE: '{who} at {url} could not be reached: {cause}',
  // change: where the policy sets this timeout, for the agents whose timeout it sets ('' otherwise).
  MW_INTEROP_TIMEOUT: '{who} at {url} did not answer within {ms} ms{change}',
  MW_INTEROP_CIRCUIT_OPEN:
    '{who} at {url} failed {failures} times in a row; calls to it are paused for {seconds} s',
  MW_INTEROP_HTTP_STATUS: '{who} at {url} answered HTTP {status}',
  MW_INTEROP_REDIRECT:
    '{who} at {url} answered with a redirect (HTTP {status}) to {location}; the warden does not follow redirects, so a message goes only where the policy says: put the final URL in the policy',
  MW_INTEROP_CONTENT_TYPE:
    '{who} at {url} answered with content type {type}; it must be application/cloudevents-batch+json, application/cloudevents+json or application/json',
  MW_INTEROP_REPLY_TOO_BIG: '{who} at {url} answered with more than {limit} bytes',
  MW_INTEROP_ALERT_ENV: 'alert sink {sink}: its {what} reads environment variable {env}, which {problem}',
  MW_INTEROP_ALERT_SEND: 'alert sink {sink} ({type}) at {url}: {problem}',
  MW_INTEROP_AUTH_ENV: '{who}: its auth reads environment variable {env}, which {problem}',
  MW_INTEROP_BAD_REPLY: '{who} at {url} answered with something that is not {expected}: {problem}',
  MW_INTEROP_MAPPING: '{who}: its mapping at {pointer} failed: {problem}',
});
