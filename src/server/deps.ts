import type { Logger } from 'pino';
import type { ClusterControl, Ledger, Mesh, MeshwardenError } from '../runtime/index.js';
import type { Integrity } from './integrity.js';
import type { LiveView } from './live.js';
import type { TokenStore } from './tokens.js';

export const API_PREFIX = '/api/v1';

/**
 * What the server reads of the cluster a node belongs to (distributed mode): every live node's
 * status, and every node's events. The runtime does the NATS side (cluster-control.ts).
 */
export type ClusterView = Pick<ClusterControl, 'node' | 'nodes' | 'onEvent' | 'onCounts' | 'follow'>;

/**
 * The Prometheus endpoint (`GET /metrics`), when the shell turned it on: the text of the metrics
 * telemetry/ records, and the token a scraper must send (its own, never a pilot's).
 */
export type MetricsEndpoint = {
  readonly token: string;
  readonly contentType: string;
  scrape(): Promise<string | undefined>;
};

/** One request as it ended: what telemetry's `http.server.request.duration` records. */
export type ServedRequest = {
  readonly method: string;
  /** The route's template (`/api/v1/holds/:id`); undefined when no route matched. */
  readonly route: string | undefined;
  /** The status sent; undefined when the caller went away before any was. */
  readonly status: number | undefined;
  readonly durationMs: number;
  /** The connection closed before the whole response was sent (the caller gave up, a stream it left). */
  readonly aborted: boolean;
};

/** Told of each request as it ends, answered or given up by its caller. */
export type RequestObserver = (served: ServedRequest) => void;

/** What every route plugin gets through its options (STYLE.md: dependencies come in, no globals). */
export type ApiDeps = {
  readonly mesh: Mesh;
  readonly ledger: Ledger;
  readonly tokens: TokenStore;
  readonly integrity: Integrity;
  readonly live: LiveView;
  /** Distributed mode: holds, breakers, counts and the feed cover every node, not just this one. */
  readonly cluster?: ClusterView;
  readonly log: Logger;
  readonly now: () => number;
  readonly startedAt: number;
  /** True once shutdown began: every call gets 503 MW_API_CLOSING (closing.ts). */
  readonly closing: () => boolean;
  /** Registers what ends a long-lived stream (the live feed, a replay) once shutdown begins. */
  readonly onClosing: (end: () => void) => void;
  /** The error the ledger closed with, once it did (a fenced or failed commit): health is then 503. */
  readonly ledgerFailure: () => MeshwardenError | undefined;
};
