import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import rateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import swagger from '@fastify/swagger';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyRequest,
} from 'fastify';
import type { Logger } from 'pino';
import {
  type A2aEndpoint,
  isMeshwardenError,
  type Ledger,
  type McpEndpoint,
  type Mesh,
  type MeshwardenError,
} from '../runtime/index.js';
import { bearerAuth, bearerOf } from './auth.js';
import { jsonBodyParser, jsonProblemAt, problemError } from './body.js';
import { CallLogController, observeCalls } from './calls.js';
import { createApiClosing } from './closing.js';
import {
  API_PREFIX,
  type ApiDeps,
  type ClusterView,
  type MetricsEndpoint,
  type RequestObserver,
} from './deps.js';
import { apiError, errorBody, refuseClientError, statusOf } from './errors.js';
import { createIntegrity, type Integrity } from './integrity.js';
import { createLiveView } from './live.js';
import { bodyRefusalOf, recordRefusal } from './refusals.js';
import { a2aRoutes } from './routes/a2a.js';
import { breakerRoutes } from './routes/breakers.js';
import { clusterRoutes } from './routes/cluster.js';
import { driftRoutes } from './routes/drift.js';
import { eventRoutes } from './routes/events.js';
import { holdRoutes } from './routes/holds.js';
import { ledgerEntryRoutes } from './routes/ledger-entries.js';
import { mcpRoutes } from './routes/mcp.js';
import { messageRoutes } from './routes/messages.js';
import { metricsRoutes } from './routes/metrics.js';
import { policyRoutes } from './routes/policy.js';
import { replayRoutes } from './routes/replay.js';
import { statusRoutes } from './routes/status.js';
import { tokenRoutes } from './routes/tokens.js';
import { API_ERROR_SCHEMA } from './schemas.js';
import type { TokenStore } from './tokens.js';
import { answerUnrouted, frameworkError } from './unrouted.js';

export { API_PREFIX } from './deps.js';

/** The largest body a call takes, but for A2A's (routes/a2a.ts): 1 MiB. */
const BODY_LIMIT = 1024 * 1024;

/** The built console: `console/dist` next to `dist/` (or `src/`) in the package. */
export const CONSOLE_DIR = fileURLToPath(new URL('../../console/dist/', import.meta.url));

export type ServerOptions = {
  readonly mesh: Mesh;
  readonly ledger: Ledger;
  readonly tokens: TokenStore;
  readonly log: Logger;
  /**
   * Calls per token (or per address without one) a minute; default 600. Also the calls an address
   * may make to /metrics without the scrape token (a scrape with it is never limited).
   */
  readonly rateLimit?: number;
  readonly consoleDir?: string;
  readonly now?: () => number;
  /** An MCP endpoint (interop's `createMeshMcpServer`), served at /api/v1/mcp to pilots. */
  readonly mcp?: McpEndpoint;
  /** Ingress and exposed agents as A2A agents (interop's `createMeshA2aServer`), at /api/v1/a2a/<name>. */
  readonly a2a?: A2aEndpoint;
  /**
   * Distributed mode: the node's view of its cluster (`OpenedMesh.control`). With it, the holds,
   * breakers, frozen subjects, counts and live feed are the whole mesh's, and `GET /cluster` lists
   * the live nodes; without it (embedded), this process's mesh is the whole mesh.
   */
  readonly cluster?: ClusterView;
  /** `GET /metrics` in the Prometheus text format, behind its own token (routes/metrics.ts); absent: not served. */
  readonly metrics?: MetricsEndpoint;
  /** Told of every request answered (telemetry's HTTP metrics); absent: nothing is measured. */
  readonly requests?: RequestObserver;
  /** Told of each verify of the whole ledger as it ends (telemetry's verify gauges). */
  readonly verified?: (ok: boolean, atMs: number) => void;
  /** How long calls in flight may take to finish once the server closes (closing.ts): 10 s. */
  readonly callsWaitMs?: number;
};

export type Server = {
  readonly app: FastifyInstance;
  readonly integrity: Integrity;
  /** Starts listening; resolves with the base URL. */
  listen(port: number, host: string): Promise<string>;
  /**
   * Refuses every new call with 503 MW_API_CLOSING, the listener still open, and ends the live
   * streams; resolves once the calls in flight have ended. Then close the mesh, then `close()`.
   */
  refuseCalls(): Promise<void>;
  /** Refuses calls (`refuseCalls`), then closes the listener. Idempotent; the mesh is the caller's. */
  close(): Promise<void>;
  readonly closed: Promise<void | Error>;
  [Symbol.asyncDispose](): Promise<void>;
};

/**
 * The HTTP API under /api/v1 (bearer tokens with roles, schema-validated bodies, per-token rate
 * limits, typed errors) and the console's static files at /. Everything a pilot can do is one call.
 */
export async function createServer(opts: ServerOptions): Promise<Server> {
  const now = opts.now ?? Date.now;
  const closing = createApiClosing(opts.log, opts.callsWaitMs);
  const app = Fastify({
    loggerInstance: opts.log as FastifyBaseLogger,
    logController: new CallLogController(),
    // Once closing: the calls in flight had their time (closing.ts), what is still open is ended.
    forceCloseConnections: true,
    bodyLimit: BODY_LIMIT,
    // A call that comes in while the server closes (on a kept-alive connection) is refused below with
    // the typed MW_API_CLOSING, not Fastify's untyped 503.
    return503OnClosing: false,
    // Unknown members are an error to report, not something to drop silently.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    // A path the router cannot decode, or a parameter past its length: typed too (unrouted.ts).
    frameworkErrors: frameworkError,
    // A request the HTTP parser refuses (a URL or headers past Node's limit, bytes that are not
    // HTTP) reaches no route: it is answered with a typed error too, not Fastify's untyped one.
    clientErrorHandler: refuseClientError,
  });
  const integrity = createIntegrity(opts.ledger, now, {
    tampered: (bad) =>
      opts.mesh.raise({
        event: 'ledger.verify_failed',
        key: `p${bad.partition}`,
        // The detail names the entry and partition already (`entry 2 of partition 0: …`).
        summary: `the ledger failed verification: ${bad.detail}`,
        detail: { partition: bad.partition, seq: bad.seq, problem: bad.detail },
      }),
    ...(opts.verified === undefined ? {} : { verified: opts.verified }),
  });
  let ledgerFailure: MeshwardenError | undefined;
  void opts.ledger.closed.then((result) => {
    if (isMeshwardenError(result)) ledgerFailure = result;
  });
  const live = createLiveView(opts.mesh, opts.cluster);
  closing.onClosing(() => live.close());
  const deps: ApiDeps = {
    mesh: opts.mesh,
    ledger: opts.ledger,
    tokens: opts.tokens,
    integrity,
    live,
    log: opts.log,
    now,
    startedAt: now(),
    closing: closing.refusing,
    onClosing: closing.onClosing,
    ledgerFailure: () => ledgerFailure,
    ...(opts.cluster === undefined ? {} : { cluster: opts.cluster }),
  };

  observeCalls(app, closing, opts.requests);
  app.setErrorHandler(async (err: FastifyError | MeshwardenError, request, reply) => {
    const error = asApiError(err, request);
    // Fastify's own client errors keep their status (400 for a bad length, say); the rest map by code.
    const own = !isMeshwardenError(err) && !('validation' in err) && error.code === 'MW_API_BAD_REQUEST';
    const status = own ? (err.statusCode ?? 400) : statusOf(error);
    // A 503 is an outage the caller is told to ride out (a take-over, NATS or the ledger away): said
    // once per call at warn, without a stack; a 500 is a bug, with its stack.
    // Refusals while the server closes are routine, one per call a load balancer still sends: debug.
    if (status === 503 && isMeshwardenError(error))
      request.log[error.code === 'MW_API_CLOSING' ? 'debug' : 'warn'](
        { code: error.code, url: request.url },
        `api call refused for now: ${error.message}`,
      );
    else if (status >= 500) request.log.error({ err, url: request.url }, 'api call failed');
    else {
      const refusal = bodyRefusalOf(request, err);
      if (refusal !== undefined) await recordRefusal(deps, request, refusal, error);
    }
    return reply.code(status >= 400 ? status : 500).send(errorBody(error));
  });
  answerUnrouted(app);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Meshwarden API',
        version: '1',
        description: 'Everything a pilot can do: the console and the CLI use this API. See docs/api.md.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          metrics: {
            type: 'http',
            scheme: 'bearer',
            description: 'MESHWARDEN_METRICS_TOKEN, for GET /metrics only',
          },
        },
      },
      security: [{ bearer: [] }],
    },
    // Shared schemas keep their $id as their name under components/schemas.
    refResolver: {
      buildLocalReference: (json, _, __, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
    },
  });

  app.addSchema(API_ERROR_SCHEMA);
  await app.register(
    async (api) => {
      // Before auth (see auth.ts), so calls with a wrong token are limited too: a known token counts
      // under its name, anything else under the caller's address.
      await api.register(rateLimit, {
        max: opts.rateLimit ?? 600,
        timeWindow: 60_000,
        hook: 'onRequest',
        keyGenerator: (request) => {
          const owner = opts.tokens.verify(bearerOf(request.headers.authorization) ?? '');
          return owner === undefined ? `ip:${request.ip}` : `token:${owner.name}`;
        },
        errorResponseBuilder: (request, context) => {
          const known = opts.tokens.verify(bearerOf(request.headers.authorization) ?? '') !== undefined;
          const who = known ? 'with this token' : 'from this address without a known token';
          const limited = known ? 'token' : 'address';
          const params = { who, max: context.max, after: context.after };
          return apiError('MW_API_RATE_LIMITED', params, { details: { limited } });
        },
      });
      api.addHook('preParsing', bearerAuth(opts.tokens));
      // Bodies are JSON only (anything else is 415 MW_API_MEDIA_TYPE): Fastify's parser, then refused
      // past MAX_BODY_DEPTH levels or with a lone surrogate, which no ledger entry can hold (body.ts).
      api.removeAllContentTypeParsers();
      api.addContentTypeParser('application/json', { parseAs: 'buffer' }, jsonBodyParser(app));
      // Path parameters and the query string are checked for lone surrogates too.
      api.addHook('preValidation', async (request) => {
        for (const [where, value] of [
          ['params', request.params],
          ['querystring', request.query],
        ] as const) {
          const found = jsonProblemAt(value);
          if (found !== undefined) throw problemError(where, found);
        }
      });
      api.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
      for (const routes of [
        statusRoutes,
        ledgerEntryRoutes,
        clusterRoutes,
        holdRoutes,
        breakerRoutes,
        driftRoutes,
        messageRoutes,
        policyRoutes,
        replayRoutes,
        tokenRoutes,
        eventRoutes,
      ]) {
        await api.register(async (scope) => routes(scope, deps));
      }
      // The doors interop/ opens, when the shell hands them over. A2A's scope reads bodies its own way.
      const { a2a, mcp } = opts;
      if (a2a !== undefined) await api.register(async (scope) => a2aRoutes(scope, deps, a2a));
      if (mcp !== undefined) await api.register(async (scope) => mcpRoutes(scope, deps, mcp));
    },
    { prefix: API_PREFIX },
  );

  // At the root, where Prometheus scrapes by default, outside the API's pilot tokens and its rate
  // limit: a limit of its own counts only calls without the scrape token (routes/metrics.ts).
  const { metrics } = opts;
  if (metrics !== undefined)
    await app.register(async (scope) => metricsRoutes(scope, deps, metrics, opts.rateLimit ?? 600));

  const consoleDir = opts.consoleDir ?? CONSOLE_DIR;
  if (existsSync(consoleDir)) await app.register(fastifyStatic, { root: consoleDir, prefix: '/' });
  else {
    app.get('/', { schema: { hide: true } }, async (_, reply) =>
      reply
        .type('text/plain')
        .send('The console is not built: run `npm run build`. The API is at /api/v1.\n'),
    );
  }

  let resolveClosed: (value: void | Error) => void = () => {};
  const closed = new Promise<void | Error>((resolve) => {
    resolveClosed = resolve;
  });
  let closingPromise: Promise<void> | undefined;
  const close = () => {
    closingPromise ??= (async () => {
      try {
        await closing.refuseCalls();
        await app.close();
        resolveClosed();
      } catch (err) {
        resolveClosed(err as Error);
      }
    })();
    return closingPromise;
  };

  return {
    app,
    integrity,
    async listen(port, host) {
      await app.listen({ port, host });
      const address = app.server.address();
      const bound = typeof address === 'object' && address !== null ? address.port : port;
      const shown = host.includes(':') ? `[${host}]` : host;
      return `http://${shown}:${bound}`;
    },
    refuseCalls: closing.refuseCalls,
    close,
    closed,
    [Symbol.asyncDispose]: close,
  };
}

/** A route's plain words for a top-level member that failed its pattern (`config.says`), and the value given. */
function plainWords(request: FastifyRequest, where: string, instancePath: string): string | undefined {
  const name = instancePath.slice(1);
  const says = request.routeOptions.config.says?.[name];
  if (says === undefined) return undefined;
  const from =
    where === 'querystring'
      ? request.query
      : where === 'body'
        ? request.body
        : where === 'params'
          ? request.params
          : undefined;
  const value = (from as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? `${says}, not "${value}"` : says;
}

/** Any error a route or Fastify raised, as a typed API error with a JSON pointer where one applies. */
function asApiError(err: FastifyError | MeshwardenError, request: FastifyRequest): MeshwardenError {
  if (isMeshwardenError(err)) return err;
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return apiError('MW_API_TOO_LARGE', { limit: request.routeOptions.bodyLimit ?? BODY_LIMIT });
  if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
    return apiError('MW_API_MEDIA_TYPE', {
      // The route's own list where it takes more than JSON (POST /replay takes YAML too).
      accepted: ((request.routeOptions.schema?.consumes as string[] | undefined) ?? ['application/json'])
        .join(', ')
        .replace(/, ([^,]*)$/, ' or $1'),
      type: request.headers['content-type'] ?? 'no content type',
    });
  const first = err.validation?.[0];
  if (first !== undefined) {
    const params = first.params as { missingProperty?: string; additionalProperty?: string };
    const member = params.missingProperty ?? params.additionalProperty;
    const pointer = `${first.instancePath}${member === undefined ? '' : `/${member}`}`;
    const where = err.validationContext ?? 'request';
    const says = first.keyword === 'pattern' ? plainWords(request, where, first.instancePath) : undefined;
    const detail =
      params.additionalProperty !== undefined
        ? `the ${where} has a member ${params.additionalProperty} that this call does not take`
        : says !== undefined
          ? `the ${where} is invalid at ${pointer}: ${says}`
          : `the ${where} is invalid at ${pointer || '/'}: it ${first.message ?? 'does not match the schema'}`;
    return apiError('MW_API_BAD_REQUEST', { detail }, { location: { pointer } });
  }
  const status = err.statusCode ?? 500;
  // Static files answer a path outside their folder with 403: to the caller it is simply not there.
  if (status === 403 || status === 404) return apiError('MW_API_NOT_FOUND', { what: 'that path' });
  if (status < 500) return apiError('MW_API_BAD_REQUEST', { detail: err.message });
  return apiError('MW_API_INTERNAL', {}, { cause: err });
}
