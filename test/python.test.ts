import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { venvPython } from "./harness/env.js";

test("the venv has the reference implementation and the real consumers", () => {
  const script = [
    "import json, importlib",
    "mods = ['kerchunk', 'xarray', 'h5py', 'netCDF4', 'zarr', 'fsspec', 's3fs', 'numcodecs', 'virtualizarr', 'icechunk', 'fastparquet', 'pyarrow']",
    "print(json.dumps({m: importlib.import_module(m).__version__ for m in mods}))",
  ].join("\n");
  const run = spawnSync(venvPython, ["-c", script], { encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
  const versions = JSON.parse(run.stdout) as Record<string, string>;
  for (const [module, version] of Object.entries(versions)) {
    assert.match(version, /^\d+\.\d+/, `${module} has no version`);
  }
  // kerchunk's HDF5 translator must import (it pulls h5py and zarr together).
  const hdf = spawnSync(venvPython, ["-c", "from kerchunk.hdf import SingleHdf5ToZarr; from kerchunk.combine import MultiZarrToZarr"], {
    encoding: "utf8",
  });
  assert.equal(hdf.status, 0, hdf.stderr);
});
