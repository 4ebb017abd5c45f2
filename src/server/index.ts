export { API_PREFIX, CONSOLE_DIR, createServer, type Server, type ServerOptions } from './app.js';
export type { MetricsEndpoint, RequestObserver } from './deps.js';
export { apiError } from './errors.js';
export { type FeedEvent, feedEventOf } from './live.js';
export { openStartingDoor, type StartingDoor } from './starting.js';
export { openTokenStore, ROLES, type Role, type TokenInfo, type TokenStore } from './tokens.js';
