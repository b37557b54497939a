/** The demo's last step: open what the backfill wrote with xarray (python/open_refs.py) and say how. */
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { outputRules } from "../lib/backfill/model/output.js";
import type { ResolvedDatasetSpec } from "../lib/datasets/spec.js";
import { containerPrefix, repositoryLocation } from "../lib/icechunk/index.js";
import { repositoryRoot } from "../lib/servers/process.js";
import type { BackfillResult } from "../workflows/types.js";
import { python } from "./demoDataset.js";

const run = promisify(execFile);

/** What python/open_refs.py says about an opened dataset, printed. */
function describeOpened(what: string, stdout: string): void {
  const opened = JSON.parse(stdout) as { dims: Record<string, number>; time?: [string, string]; variables: string[]; sample: { variable: string; at: Record<string, number>; value: number | null; units?: string } };
  console.log(`\nopened ${what}:`);
  console.log(`  dimensions: ${Object.entries(opened.dims).map(([k, v]) => `${k}=${v}`).join(", ")}`);
  if (opened.time) console.log(`  time: ${opened.time[0]} .. ${opened.time[1]}`);
  console.log(`  variables: ${opened.variables.join(", ")}`);
  console.log(`  ${opened.sample.variable}${JSON.stringify(opened.sample.at)} = ${opened.sample.value} ${opened.sample.units ?? ""}`);
}

/** Open the Icechunk store (local outputs of local sources), or the first day's references, and print what xarray sees. */
export async function openOutputs(resolved: ResolvedDatasetSpec, summary: BackfillResult, firstDay: string, signal: AbortSignal): Promise<void> {
  const first = summary.results[firstDay];
  if (outputRules(resolved.output.format).store && resolved.output.storage.kind === "local" && resolved.source.storage.kind === "local") {
    const store = repositoryLocation(resolved).description;
    const container = containerPrefix(resolved.source.storage);
    const { stdout } = await run(python, [resolve(repositoryRoot, "python/open_refs.py"), "--icechunk", store, container], { signal });
    describeOpened(`the Icechunk store ${store}`, stdout);
    console.log(`\nopen it yourself (Python >= 3.12 with icechunk >= 2, xarray, zarr >= 3):`);
    console.log(`  import icechunk, xarray as xr`);
    console.log(`  repo = icechunk.Repository.open(icechunk.local_filesystem_storage(${JSON.stringify(store)}),`);
    console.log(`      authorize_virtual_chunk_access={${JSON.stringify(container)}: icechunk.credentials.LocalFileSystemAccess})`);
    console.log(`  ds = xr.open_zarr(repo.readonly_session("main").store, consolidated=False)`);
  } else if (first?.outcome === "written" || first?.outcome === "existing") {
    const path = first.output;
    const { stdout } = await run(python, [resolve(repositoryRoot, "python/open_refs.py"), path], { signal });
    describeOpened(`${path} with xarray (fsspec reference:// + zarr)`, stdout);
  }
}
