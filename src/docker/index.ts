export { openEngine, type Engine } from './engine.js';
export { resolveEndpoint, type Endpoint } from './connect.js';
export { parseFilters, resolveTargets } from './targets.js';
export type * from './types.js';
export type { ContainerEvent } from './events.js';
export type { ExecResult } from './exec.js';
export { followedActions, type LiveEvent, type FollowedAction } from './follow.js';
