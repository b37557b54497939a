// Every activity the worker registers: thin wrappers around the Temporal-free library in lib/.
export { describeWorker } from "./worker.js";
