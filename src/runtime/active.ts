import type { Policy } from '../policy/index.js';
import type { LoadedModules } from './modules.js';

/**
 * The policy in force and its loaded agent and effect modules. One object shared by the runtime's
 * parts, which read it at each use: a policy reload replaces both members at once.
 */
export type ActivePolicy = { policy: Policy; modules: LoadedModules };
