"""Open a range of reference outputs as one dataset, decoded correctly across layout drift (issue 17).

A backfill writes one reference file per period, or, where the archive's layout changed inside the
period (another scale_factor, dtype, chunk shape, codec, fill value or units), one per era:
`<period>.era001of003.json`, `.era002of003.json`, ... (sorting the names gives time order). Each
output is one Zarr dataset that xarray decodes with its own attributes; concatenating the decoded
datasets along time gives the whole range:

    import glob
    from open_range import open_range
    ds = open_range(sorted(glob.glob("refs/AHI-L2-FLDK-SST/202203??.*json")))  # March's days (20220301.json, 20220302.era001of002.json, ...)
    ds = open_range(sorted(glob.glob("refs/AHI-L2-FLDK-SST/202203.*json")))    # or March's month output(s); never both: each hour once

Variables that appear or disappear are NaN (their fill value) where absent. A change of `units`
(kelvin -> celsius) is decoded as written: check `ds[v].attrs` per era (`open_range(..., parts=True)`)
before mixing them. Parquet outputs (`*.parq` folders: output.format "parquet", or the library's
combine) open the same way: `open_range(sorted(glob.glob("refs/AHI-L2-FLDK-SST/202203.*parq")))`.

usage: open_range.py OUTPUT...   -> JSON {dims, time: [first, last], steps, variables}
"""
import json
import sys

import xarray as xr


def open_output(path, **storage_options):
    """One reference output (kerchunk JSON file or Parquet folder), decoded by its own attributes."""
    if not str(path).endswith(".json"):
        # pandas >= 3 reads a missing chunk's null path (a variable absent in part of an era) as NaN,
        # which fsspec takes for a URL (README "Reading the outputs").
        import pandas

        pandas.set_option("future.infer_string", False)
    return xr.open_dataset(
        "reference://", engine="zarr",
        backend_kwargs={"consolidated": False, "storage_options": {"fo": path, **storage_options}},
    )


def open_range(paths, dim="time", parts=False, **storage_options):
    """The outputs in `paths` (in time order: sorted names), each decoded, then concatenated along `dim`."""
    datasets = [open_output(path, **storage_options) for path in paths]
    if parts:
        return datasets
    # Variables without `dim` (lat, lon, crs) are the same in every era: taken from the first.
    return xr.concat(datasets, dim=dim, data_vars="minimal", coords="minimal", compat="override", join="override")


if __name__ == "__main__":
    ds = open_range(sys.argv[1:])
    print(json.dumps({
        "dims": {k: int(v) for k, v in ds.sizes.items()},
        "time": [str(ds.time.values[0]), str(ds.time.values[-1])],
        "steps": int(ds.sizes["time"]),
        "variables": sorted(map(str, ds.data_vars)),
    }))
