import { maxHeaderSize, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { type MeshwardenError, makeError } from '../runtime/index.js';

export const apiError = makeError({
  MW_API_BAD_REQUEST: '{detail}',
  MW_API_UNAUTHENTICATED: 'this call needs a valid token: send Authorization: Bearer <token>',
  MW_API_FORBIDDEN: 'token {name} has role {role}; this call needs role {needed}',
  MW_API_NOT_FOUND: '{what} was not found',
  MW_API_METHOD_NOT_ALLOWED: '{path} does not take {method}; it takes {allow}',
  MW_API_TOO_LARGE: 'the body is over the limit of {limit} bytes for this call',
  MW_API_TOO_DEEP: 'the {where} nests deeper than {max} levels (at {at})',
  MW_API_HEADERS_TOO_LARGE: 'the request line and headers are over the limit of {limit} bytes',
  MW_API_NOT_HTTP: 'the request could not be read as HTTP: {cause}',
  MW_API_MEDIA_TYPE: 'this call takes a body of type {accepted}, not {type}',
  MW_API_RATE_LIMITED: 'too many calls {who}: at most {max} a minute; retry in {after}',
  MW_API_TOKEN_EXISTS: 'a token named {name} already exists',
  MW_API_LAST_ADMIN: 'token {name} is the last admin token; create another admin token before revoking it',
  MW_API_CLOSING: 'the mesh is shutting down',
  MW_API_STARTING: 'the mesh is starting ({progress}); ask again in a few seconds',
  MW_API_REPLAY_BUSY: 'a replay is running; one runs at a time: ask again when it is done',
  MW_API_TOKENS_FILE: 'cannot use the tokens file {file}: {cause}',
  MW_API_INTERNAL: 'the server failed on this call; its log says why',
  MW_API_POLICY_INVALID:
    'the mesh file {file} cannot be put in force ({count} problem(s)); the running policy is unchanged',
  // POST /replay: a candidate is tried, never put in force.
  MW_API_CANDIDATE_INVALID: 'the candidate {file} has {problems}; nothing was replayed',
});

/** The one place error codes become HTTP statuses (STYLE.md: only server/ maps codes to HTTP). */
const STATUS: Readonly<Record<string, number>> = {
  MW_API_BAD_REQUEST: 400,
  MW_API_POLICY_INVALID: 400,
  MW_API_CANDIDATE_INVALID: 400,
  // A candidate policy of another mesh (POST /replay).
  MW_RUNTIME_REPLAY_MESH: 400,
  MW_API_UNAUTHENTICATED: 401,
  MW_API_FORBIDDEN: 403,
  MW_API_NOT_FOUND: 404,
  MW_API_METHOD_NOT_ALLOWED: 405,
  MW_API_TOO_LARGE: 413,
  MW_API_TOO_DEEP: 400,
  MW_API_NOT_HTTP: 400,
  MW_API_HEADERS_TOO_LARGE: 431,
  MW_API_MEDIA_TYPE: 415,
  MW_PILOT_NOT_HELD: 404,
  MW_PILOT_NO_BREAKER: 404,
  MW_PILOT_BAD_TEXT: 400,
  MW_PILOT_NOT_FROZEN: 404,
  MW_PILOT_ALREADY_FROZEN: 409,
  MW_API_TOKEN_EXISTS: 409,
  MW_API_LAST_ADMIN: 409,
  MW_API_REPLAY_BUSY: 409,
  MW_API_RATE_LIMITED: 429,
  MW_API_CLOSING: 503,
  MW_API_STARTING: 503,
  MW_RUNTIME_CLOSED: 503,
  MW_RUNTIME_ID_READ: 503,
  // Distributed mode: the broker or the partition's owner cannot take it just now; ask again.
  MW_RUNTIME_BUS_PUBLISH: 503,
  MW_RUNTIME_BUS_CLOSED: 503,
  MW_RUNTIME_BUS_CONNECTION: 503,
  MW_RUNTIME_PARTITION_ELSEWHERE: 503,
  MW_RUNTIME_REMOTE: 503,
  // The cluster's control channel: a node or the broker did not answer.
  MW_RUNTIME_CONTROL: 503,
  MW_LEDGER_ADOPTING: 503,
  // A ledger that closed (fenced, failed) or cannot be reached serves nothing until restarted.
  MW_LEDGER_CLOSED: 503,
  MW_LEDGER_FENCED: 503,
  MW_LEDGER_IO: 503,
};

export function statusOf(error: MeshwardenError): number {
  return STATUS[error.code] ?? 500;
}

/** One problem of several, as `error.issues` lists them: where (file:line:col or a pointer) and what. */
export type IssueView = { readonly code: string; readonly location: string; readonly message: string };

/** The body of every error reply: `{ error: { code, message, pointer?, issues? } }`. */
export function errorBody(error: MeshwardenError): {
  error: {
    code: string;
    message: string;
    pointer?: string;
    issues?: readonly IssueView[];
    answered?: HoldAnswer;
    limited?: 'token' | 'address';
    /** MW_API_STARTING: what the opening mesh is doing. */
    progress?: string;
  };
} {
  const pointer = error.location?.pointer;
  const issues = error.details?.issues as readonly IssueView[] | undefined;
  const answered = error.details?.answered as HoldAnswer | undefined;
  const limited = error.details?.limited as 'token' | 'address' | undefined;
  const progress = error.details?.progress as string | undefined;
  return {
    error: {
      code: error.code,
      message: error.message,
      ...(pointer === undefined ? {} : { pointer }),
      ...(issues === undefined ? {} : { issues }),
      ...(answered === undefined ? {} : { answered }),
      ...(limited === undefined ? {} : { limited }),
      ...(progress === undefined ? {} : { progress }),
    },
  };
}

/** Who answered a hold first (`MW_PILOT_NOT_HELD` of an approve or reject that came second). */
type HoldAnswer = {
  readonly by: string;
  readonly outcome: 'deliver' | 'deny';
  readonly at: string;
  /** An approval (or a delivering timeout) the gate checked again and refused: the refusal's reason. */
  readonly refused?: string;
};

/**
 * Answers a request Node's HTTP parser refused before any route saw it (a URL or headers past its
 * limit, bytes that are not HTTP): typed like every other error, then the connection closes. A
 * connection the client reset, or that cannot be written, is only dropped. A server's clientError.
 */
export function refuseClientError(err: { code?: unknown; message?: unknown }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
  const error =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? apiError('MW_API_HEADERS_TOO_LARGE', { limit: maxHeaderSize })
      : apiError('MW_API_NOT_HTTP', { cause: String(err.message ?? err.code ?? 'unreadable') });
  socket.end(rawReply(error));
}

/**
 * A whole HTTP/1.1 answer carrying `error` at its status, for a socket that no response object holds
 * (a client error, a CONNECT); `headers` adds lines (`allow: \r\n`). The connection closes after it.
 */
export function rawReply(error: MeshwardenError, headers = ''): string {
  const status = statusOf(error);
  const body = JSON.stringify(errorBody(error));
  return `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${headers}content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}

/**
 * Ends `response`, which Node made before any route saw the request (its own listener), with `error`
 * (at `status`, its own by default), and closes the connection.
 */
export function endWithError(
  response: ServerResponse,
  error: MeshwardenError,
  opts: { readonly status?: number; readonly headers?: Readonly<Record<string, string>> } = {},
): void {
  const body = JSON.stringify(errorBody(error));
  response.writeHead(opts.status ?? statusOf(error), {
    ...opts.headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    connection: 'close',
  });
  response.end(body);
}

/**
 * Refuses a CONNECT (Node hands its socket over untracked and without its error listener): an
 * error listener so that a client's reset cannot end the process, a timeout so that one that keeps
 * the socket open cannot hold the server's close, and the socket destroyed once `reply` is out.
 */
export function refuseConnect(socket: Socket, reply: string): void {
  socket.on('error', () => socket.destroy());
  socket.setTimeout(CONNECT_LINGER_MS, () => socket.destroy());
  socket.end(reply, () => socket.destroy());
}

/** How long a refused CONNECT's socket may stay, if the answer cannot be flushed. */
const CONNECT_LINGER_MS = 5_000;
