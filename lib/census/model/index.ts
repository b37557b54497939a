// The census's model: plain data and pure rules shared by the census workflow (this folder is
// bundled into workflow code), `censusDirect`, the activities and the CLI.
export * from "./search.js";
export * from "./types.js";
