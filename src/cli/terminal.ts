// The function lives on the ground floor (src/controls.ts) so the report can use it too.
export { visibleControls } from '../controls.js';
