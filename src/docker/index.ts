export { openEngine, type Engine } from './engine.js';
export { describeChoice, resolveEndpoint, type Endpoint, type EndpointSource } from './connect.js';
export { parseFilters, resolveTargets } from './targets.js';
export type * from './types.js';
