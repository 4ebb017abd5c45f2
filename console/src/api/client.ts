// The one way the console talks to the warden: JSON over /api/v1 with the pilot's bearer token.

export type ApiError = {
  status: number;
  code: string;
  message: string;
  pointer?: string;
  /** A policy's mistakes (`MW_API_POLICY_INVALID`, `MW_API_CANDIDATE_INVALID`), each where it is, as `file:line:col`. */
  issues?: { code: string; location: string; message: string }[];
  /** `MW_PILOT_NOT_HELD` of an approve or reject: who answered the hold first, how and when. */
  answered?: HoldAnswer;
};

/** Who answered a hold (`pilot:<name>` or `timeout`), how, and when. */
export type HoldAnswer = {
  by: string;
  outcome: 'deliver' | 'deny';
  at: string;
  /** Approved (or let through by its timeout), then refused when gated again: the reason. */
  refused?: string;
};

export type ApiClient = {
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body?: unknown): Promise<T>;
  /** Opens a streaming GET (the live feed); the caller reads the body. */
  stream(path: string, signal: AbortSignal): Promise<Response>;
};

export const API_BASE = '/api/v1';

export function isApiError(value: unknown): value is ApiError {
  return typeof value === 'object' && value !== null && 'code' in value && 'status' in value;
}

/** Creates a client; `onUnauthenticated` runs on any 401 (the console goes back to sign-in). */
export function createApiClient(token: string, onUnauthenticated: (error: ApiError) => void): ApiClient {
  const headers = (json: boolean): Record<string, string> => ({
    authorization: `Bearer ${token}`,
    ...(json ? { 'content-type': 'application/json' } : {}),
  });

  async function send(path: string, init: RequestInit): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(API_BASE + path, init);
    } catch {
      throw { status: 0, code: 'NETWORK', message: 'The warden cannot be reached.' } satisfies ApiError;
    }
    if (response.ok) return response;
    const error = await readError(response);
    if (response.status === 401) onUnauthenticated(error);
    throw error;
  }

  async function json<T>(response: Response): Promise<T> {
    if (response.status === 204) return undefined as T;
    return (await response.json()) as T;
  }

  return {
    get: async (path) => json(await send(path, { headers: headers(false) })),
    post: async (path, body) =>
      json(
        await send(path, {
          method: 'POST',
          headers: headers(body !== undefined),
          body: body === undefined ? undefined : JSON.stringify(body),
        }),
      ),
    stream: (path, signal) => send(path, { headers: headers(false), signal }),
  };
}

async function readError(response: Response): Promise<ApiError> {
  const fallback = { status: response.status, code: `HTTP_${response.status}`, message: response.statusText };
  try {
    const body = (await response.json()) as {
      error?: {
        code?: string;
        message?: string;
        pointer?: string;
        issues?: ApiError['issues'];
        answered?: HoldAnswer;
      };
    };
    if (body.error?.code === undefined) return fallback;
    return {
      status: response.status,
      code: body.error.code,
      message: body.error.message ?? fallback.message,
      ...(body.error.pointer === undefined ? {} : { pointer: body.error.pointer }),
      ...(Array.isArray(body.error.issues) ? { issues: body.error.issues } : {}),
      ...(typeof body.error.answered === 'object' && body.error.answered !== null
        ? { answered: body.error.answered }
        : {}),
    };
  } catch {
    return fallback;
  }
}
