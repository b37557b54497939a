import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { testDir, venvPython } from "./harness/env.js";
import { python } from "./harness/python.js";

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

test("a consumer script runs as its own process would, in a fork that has the libraries imported", async (t) => {
  const dir = await testDir("python-harness");
  const script = async (name: string, body: string): Promise<string> => {
    const path = join(dir, name);
    await writeFile(path, body);
    return path;
  };
  const probe = await script(
    "probe.py",
    [
      "import json, os, sys",
      "preloaded = 'xarray' in sys.modules",
      "import probe_helper  # beside the script, as `python probe.py` finds it",
      "leaked = getattr(json, 'left_by_an_earlier_job', False)",
      "json.left_by_an_earlier_job = True",
      "print(json.dumps({'argv': sys.argv[1:], 'env': os.environ.get('TK_PROBE'), 'home': 'HOME' in os.environ, 'preloaded': preloaded, 'leaked': leaked, 'parent': os.getppid()}))",
    ].join("\n"),
  );
  await script("probe_helper.py", "");
  type Probe = { argv: string[]; env: string | null; home: boolean; preloaded: boolean; leaked: boolean; parent: number };

  await t.test("arguments, environment, imports beside the script; nothing shared between runs", async () => {
    const runs = await Promise.all(["a", "b", "c"].map((arg) => python<Probe>(probe, [arg, "x y"], { ...process.env, TK_PROBE: arg })));
    assert.deepEqual(
      runs.map((r) => [r.argv, r.env, r.leaked]),
      ["a", "b", "c"].map((arg) => [[arg, "x y"], arg, false]),
    );
    assert.ok(runs.every((r) => r.preloaded && r.parent === runs[0]!.parent), "every run is a fork of one process that imported xarray");
    assert.ok(runs.every((r) => r.home));
    // The environment is the one given, not the forking process's (which has HOME).
    const again = await python<Probe>(probe, [], { ...process.env, TK_PROBE: undefined, HOME: undefined });
    assert.deepEqual([again.env, again.home, again.leaked], [null, false, false]);
  });

  await t.test("a script that fails names itself, how it ended and what it printed", async () => {
    const raises = await script("raises.py", "raise ValueError('the variable sst is wrong')");
    await assert.rejects(python(raises, []), /raises\.py failed \(exit code 1\):[\s\S]*ValueError: the variable sst is wrong/);
    const exits = await script("exits.py", "import sys\nprint('half', file=sys.stderr)\nsys.exit(3)");
    await assert.rejects(python(exits, []), /exits\.py failed \(exit code 3\): half/);
    const silent = await script("silent.py", "print('not json')");
    await assert.rejects(python(silent, []), /silent\.py printed no JSON: not json/);
  });

  await t.test("a script killed by a signal runs once more: a second crash fails it", async () => {
    const marker = join(dir, "crashed-once");
    const once = await script(
      "crash_once.py",
      `import os, signal\nif not os.path.exists(${JSON.stringify(marker)}):\n    open(${JSON.stringify(marker)}, 'w').close()\n    os.kill(os.getpid(), signal.SIGSEGV)\nprint('{"ran": true}')`,
    );
    assert.deepEqual(await python(once, []), { ran: true });
    assert.ok(existsSync(marker), "the first run crashed");
    const always = await script("crash_always.py", "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)");
    await assert.rejects(python(always, []), /crash_always\.py failed \(killed by SIGSEGV\)/);
    // The process that forks the runs outlives them.
    assert.deepEqual((await python<Probe>(probe, ["after"])).argv, ["after"]);
  });
});
