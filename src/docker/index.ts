export { openEngine, type Engine } from './engine.js';
export { describeChoice, resolveEndpoint, type Endpoint, type EndpointSource } from './connect.js';
export type { EngineProduct } from './probe.js';
export { parseFilters, resolveTargets } from './targets.js';
export type * from './types.js';
export type { LabAttachment, LabContainerSpec, LabHealthcheck } from './lab.js';
export type { ContainerEvent } from './events.js';
export type { ExecResult } from './exec.js';
export { followedActions, type LiveEvent, type FollowedAction } from './follow.js';
