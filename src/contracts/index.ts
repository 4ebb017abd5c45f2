export type { Contract, Issue } from './types.js';
