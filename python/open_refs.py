"""Open a reference file, or a local Icechunk store, the way users do and describe it (the demo's last step).

usage: open_refs.py REFS_JSON [REMOTE_OPTIONS_JSON]        -> JSON {dims, time, variables, sample}
       open_refs.py --icechunk STORE_DIR CONTAINER_URL      (the archive folder as file:///.../)
"""
import json
import sys
import warnings

import numpy as np
import xarray as xr

warnings.simplefilter("ignore")
if sys.argv[1] == "--icechunk":
    import icechunk

    repo = icechunk.Repository.open(icechunk.local_filesystem_storage(sys.argv[2]),
                                    authorize_virtual_chunk_access={sys.argv[3]: icechunk.credentials.LocalFileSystemAccess})
    ds = xr.open_zarr(repo.readonly_session("main").store, consolidated=False)
else:
    storage = {"fo": sys.argv[1]}
    if len(sys.argv) > 2:
        storage.update(remote_protocol="s3", remote_options=json.loads(sys.argv[2]))
    ds = xr.open_dataset("reference://", engine="zarr", backend_kwargs={"consolidated": False, "storage_options": storage})
out = {"dims": {k: int(v) for k, v in ds.sizes.items()}, "variables": sorted(map(str, ds.data_vars))}
if "time" in ds:
    out["time"] = [str(ds.time.values[0]), str(ds.time.values[-1])]
name = "sea_surface_temperature" if "sea_surface_temperature" in ds else out["variables"][0]
var = ds[name]
index = {d: var.sizes[d] // 2 for d in var.dims}
value = var.isel(index).values
out["sample"] = {"variable": name, "at": index, "value": None if np.isnan(value) else float(value), "units": var.attrs.get("units")}
print(json.dumps(out))
