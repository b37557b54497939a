/**
 * A stand-in for two C23 entry points of glibc 2.38 that the prebuilt Linux addon of
 * `@earthmover/icechunk` 2.2.2 imports (`__isoc23_sscanf`, `__isoc23_strtol`): on older glibc
 * (Debian 12 has 2.36) the addon fails to load with "undefined symbol". The shim forwards them to
 * `vsscanf`/`strtol` (the C23 variants differ only in accepting binary literals, which the addon's
 * uses do not parse), is compiled once with the system C compiler into the user's cache and loaded
 * globally before the addon, so the dynamic linker resolves the addon's symbols from it.
 *
 * It is built at first use, not at install time: npm 11 no longer runs install scripts by default,
 * and a user who installs our package may have a read-only node_modules.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir, constants as osConstants } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The symbols the shim defines. */
export const shimmedSymbols = ["__isoc23_sscanf", "__isoc23_strtol"] as const;

// napi_register_module_v1 makes the shim a valid (empty) Node addon, so process.dlopen() accepts it
// instead of closing it again; -z nodelete keeps it loaded whatever happens to the handle.
const source = `#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
int __isoc23_sscanf(const char *s, const char *format, ...) {
  va_list args; va_start(args, format); int n = vsscanf(s, format, args); va_end(args); return n;
}
long __isoc23_strtol(const char *s, char **end, int base) { return strtol(s, end, base); }
void *napi_register_module_v1(void *env, void *exports) { (void)env; return exports; }
`;

/** Where the compiled shim is kept: $TK_CACHE_DIR, else $XDG_CACHE_HOME or ~/.cache, /temporal-kerchunk. */
function cacheDir(): string {
  if (process.env.TK_CACHE_DIR) return process.env.TK_CACHE_DIR;
  const base = process.env.XDG_CACHE_HOME || join(homedir() || tmpdir(), ".cache");
  return join(base, "temporal-kerchunk");
}

/** Why the shim could not be built or loaded, for the caller's error message. */
export class ShimUnavailable extends Error {}

/**
 * Compile the shim (once per machine and source version; concurrent callers each build to their
 * own temporary file and rename into place) and load it with RTLD_NOW | RTLD_GLOBAL. Returns the
 * path of the loaded library.
 */
export async function loadGlibcShim(): Promise<string> {
  const key = createHash("sha256").update(`${process.arch}\n${source}`).digest("hex").slice(0, 16);
  const dir = cacheDir();
  const library = join(dir, `icechunk-glibc-shim-${key}.so`);
  if (!existsSync(library)) {
    const compiler = process.env.CC || "cc";
    const temporary = `${library}.tmp-${process.pid}-${Date.now()}`;
    try {
      await mkdir(dir, { recursive: true });
      await writeFile(`${temporary}.c`, source);
      await run(compiler, ["-shared", "-fPIC", "-O2", "-Wl,-z,nodelete", "-o", temporary, `${temporary}.c`], { timeout: 60_000 });
      await rename(temporary, library);
    } catch (error) {
      const e = error as { stderr?: string; message: string };
      throw new ShimUnavailable(
        `compiling the glibc shim with '${compiler}' into ${dir} failed: ${(e.stderr || e.message).trim().slice(0, 400)} ` +
          `(install a C compiler, e.g. 'apt-get install gcc', or set CC; or set TK_CACHE_DIR to a writable folder)`,
      );
    } finally {
      await rm(`${temporary}.c`, { force: true });
      await rm(temporary, { force: true });
    }
  }
  try {
    const module = { exports: {} };
    process.dlopen(module, library, osConstants.dlopen.RTLD_NOW | osConstants.dlopen.RTLD_GLOBAL);
  } catch (error) {
    throw new ShimUnavailable(`loading ${library} failed: ${(error as Error).message}`);
  }
  return library;
}
