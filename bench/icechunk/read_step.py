"""Open one output of the Icechunk benchmark with xarray and read one time step of
sea_surface_temperature (64 chunks, raw values), timing each part. Run once per process.

usage: read_step.py icechunk REPO_DIR CONTAINER_PREFIX STEP
       read_step.py json|parquet REFS_PATH STEP
prints JSON {"open_s", "read_s", "sum"} (sum: of the raw values, to check all outputs agree)
"""
import json
import sys
import time
import warnings

import pandas as pd
import xarray as xr

warnings.simplefilter("ignore")
pd.set_option("future.infer_string", False)  # see README: pandas 3 and Parquet references

kind = sys.argv[1]
started = time.perf_counter()
if kind == "icechunk":
    import icechunk as ic

    repo = ic.Repository.open(ic.local_filesystem_storage(sys.argv[2]),
                              authorize_virtual_chunk_access={sys.argv[3]: ic.credentials.LocalFileSystemAccess})
    ds = xr.open_zarr(repo.readonly_session("main").store, consolidated=False, mask_and_scale=False, decode_times=False)
    step = int(sys.argv[4])
else:
    ds = xr.open_dataset("reference://", engine="zarr", mask_and_scale=False, decode_times=False,
                         backend_kwargs={"consolidated": False, "storage_options": {"fo": sys.argv[2]}})
    step = int(sys.argv[3])
opened = time.perf_counter()
values = ds["sea_surface_temperature"].isel(time=step).values
read = time.perf_counter()
print(json.dumps({"open_s": opened - started, "read_s": read - opened, "sum": int(values.astype("i8").sum()), "steps": ds.sizes["time"]}))
