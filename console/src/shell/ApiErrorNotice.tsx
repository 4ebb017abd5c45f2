import type { ApiError } from '../api/client.js';

/** An API error as the warden worded it, with its code for whoever reads the logs. */
export function ApiErrorNotice({ error }: { error: ApiError | undefined }) {
  if (error === undefined) return null;
  return (
    <p class="notice error" role="alert" data-testid="api-error" data-code={error.code}>
      {error.message} <span class="code">({error.code})</span>
    </p>
  );
}
