import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/**
 * The workflows entry for Worker bundling: the .ts source when running from source (tsx, tests),
 * the compiled .js when running from dist/.
 */
export const workflowsPath: string = (() => {
  const js = fileURLToPath(new URL("../workflows/index.js", import.meta.url));
  return existsSync(js) ? js : fileURLToPath(new URL("../workflows/index.ts", import.meta.url));
})();
