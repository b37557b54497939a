// `npm run build` (after tsc) and test/run.ts: bundle the workflow code once, ahead of any worker.
import { buildWorkflowBundle } from "./bundle.js";

const started = performance.now();
const path = await buildWorkflowBundle();
console.error(`[workflow bundle] ${path} in ${Math.round(performance.now() - started)} ms`);
