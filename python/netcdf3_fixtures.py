"""netCDF-3 files written by netCDF-C (through netCDF4-python), for the netCDF-3 reader's tests.

usage: netcdf3_fixtures.py OUT_DIR [--netcdf4]  -> JSON list of the paths written
--netcdf4: the same content (CDF-5's types included) written as netCDF-4 instead, `<name>_nc4.nc`,
to compare the references of the two formats.

For each of the three formats (CDF-1 classic, CDF-2 64-bit offset, CDF-5 64-bit data):
 - every_type: fixed-size and record variables of every type the format has, attributes of every
   type (several values, one value, none; NaN and infinities; 64-bit integers beyond 2^53 in CDF-5),
   char arrays (fixed and per record), scalars, _FillValue / missing_value / packing attributes,
   a variable never written (netCDF-C fills it with the default fill value), record variables of
   byte and short whose records are padded to 4 bytes;
 - fixed_only: no unlimited dimension;
 - zero_records: an unlimited dimension with no records written;
 - one_record_variable: a single record variable of short, 3 values a record (6 bytes, the records
   not padded to 4: the format's special case);
 - large: variables larger than the small chunk limit the tests translate with (split into chunks),
   the last one ending at the end of the file;
 - big_header: a header longer than a block cache's first read (256 KiB: a long global attribute).
"""
import json
import os
import sys

import netCDF4
import numpy as np

FORMATS = {"cdf1": "NETCDF3_CLASSIC", "cdf2": "NETCDF3_64BIT_OFFSET", "cdf5": "NETCDF3_64BIT_DATA"}
CLASSIC_TYPES = ["i1", "S1", "i2", "i4", "f4", "f8"]
CDF5_TYPES = ["u1", "u2", "u4", "i8", "u8"]


def values(dtype, shape, seed):
    rng = np.random.default_rng(seed)
    if dtype == "S1":
        letters = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz ", dtype="S1")
        return rng.choice(letters, size=shape)
    if dtype.startswith("f"):
        return (rng.standard_normal(shape) * 100).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(max(info.min, -(2**62)), min(info.max, 2**62), size=shape, dtype=dtype, endpoint=True)


def every_type(path, fmt):
    types = CLASSIC_TYPES + (CDF5_TYPES if fmt in ("NETCDF3_64BIT_DATA", "NETCDF4") else [])
    ds = netCDF4.Dataset(path, "w", format=fmt)
    ds.createDimension("time", None)
    ds.createDimension("y", 3)
    ds.createDimension("x", 5)
    ds.createDimension("name_length", 8)
    ds.title = "netCDF-3 fixture: every type"
    ds.history = "written by netCDF-C through netCDF4-python"
    ds.empty_text = ""
    ds.utf8_text = "Zürich, 東京"
    for t in types:
        if t == "S1":
            continue
        ds.setncattr(f"att_{t}_one", np.array([7], dtype=t))
        ds.setncattr(f"att_{t}_many", values(t, 4, seed=len(t)))
    ds.setncattr("att_f4_special", np.array([np.nan, np.inf, -np.inf, 0.5], dtype="f4"))
    ds.setncattr("att_f8_special", np.array([np.nan, -0.0, 1e300], dtype="f8"))
    ds.setncattr("att_i4_empty", np.array([], dtype="i4"))
    if fmt in ("NETCDF3_64BIT_DATA", "NETCDF4"):
        ds.setncattr("att_i8_big", np.array([2**62 + 1, -(2**62) - 3], dtype="i8"))
        ds.setncattr("att_u8_big", np.array([2**64 - 1], dtype="u8"))

    time = ds.createVariable("time", "f8", ("time",))
    time.units = "hours since 2020-01-01 00:00:00"
    time.standard_name = "time"
    y = ds.createVariable("y", "f4", ("y",))
    y.units = "m"
    y[:] = [10.0, 20.0, 30.0]
    x = ds.createVariable("x", "i4", ("x",))
    x[:] = np.arange(5) * 100
    for i, t in enumerate(types):
        fixed = ds.createVariable(f"fixed_{t}", t, ("y", "x"))
        fixed.long_name = f"fixed-size {t}"
        data = values(t, (3, 5), seed=10 + i)
        if t == "S1":
            data[1, 1] = b" "  # x is not a character dimension: xarray keeps these chars, spaces included
        fixed[:] = data
        rec = ds.createVariable(f"record_{t}", t, ("time", "x"))
        rec.long_name = f"record {t}"
        rec[0:4] = values(t, (4, 5), seed=20 + i)
        one = ds.createVariable(f"record_scalar_{t}", t, ("time",))
        one[0:4] = values(t, 4, seed=30 + i)
    names = ds.createVariable("station_name", "S1", ("x", "name_length"))
    names.long_name = "station name"
    names[:] = netCDF4.stringtochar(np.array(["alpha", "beta", "gamma", "delta!!!", ""], dtype="S8"))
    labels = ds.createVariable("record_label", "S1", ("time", "name_length"))
    labels[0:4] = netCDF4.stringtochar(np.array(["one", "two", "three", "four"], dtype="S8"))
    scalar = ds.createVariable("scalar_double", "f8", ())
    scalar.comment = "a 0-d variable"
    scalar.assignValue(3.25)
    crs = ds.createVariable("crs", "i4", ())
    crs.grid_mapping_name = "latitude_longitude"
    packed = ds.createVariable("packed", "i2", ("time", "y", "x"), fill_value=np.int16(-32767))
    packed.scale_factor = np.float32(0.01)
    packed.add_offset = np.float32(273.15)
    packed.units = "K"
    packed.set_auto_maskandscale(False)
    data = values("i2", (4, 3, 5), seed=40)
    data[0, 0, :2] = -32767
    packed[0:4] = data
    flagged = ds.createVariable("with_missing_value", "f4", ("y", "x"))
    flagged.missing_value = np.float32(-999.0)
    data = values("f4", (3, 5), seed=41)
    data[1, 1] = -999.0
    flagged[:] = data
    filled = ds.createVariable("float_fill", "f4", ("y", "x"), fill_value=np.float32(np.nan))
    filled.set_auto_maskandscale(False)
    data = values("f4", (3, 5), seed=42)
    data[2, :] = np.nan
    filled[:] = data
    ds.createVariable("never_written", "f4", ("y", "x"))  # netCDF-C writes NC_FILL_FLOAT
    time[0:4] = [0.0, 1.0, 2.0, 3.0]
    ds.close()


def fixed_only(path, fmt):
    ds = netCDF4.Dataset(path, "w", format=fmt)
    ds.createDimension("lat", 4)
    ds.createDimension("lon", 6)
    ds.Conventions = "CF-1.8"
    lat = ds.createVariable("lat", "f4", ("lat",))
    lat[:] = [-45, -15, 15, 45]
    lon = ds.createVariable("lon", "f8", ("lon",))
    lon[:] = np.arange(6) * 60.0
    sst = ds.createVariable("sst", "i2", ("lat", "lon"), fill_value=np.int16(-32768))
    sst.scale_factor = 0.01
    sst.set_auto_maskandscale(False)
    data = values("i2", (4, 6), seed=50)
    data[0, 0] = -32768
    sst[:] = data
    odd = ds.createVariable("odd_bytes", "i1", ("lat",))  # 4 bytes then the next variable, 3 bytes padded
    odd[:] = [1, -2, 3, -4]
    tiny = ds.createVariable("three_bytes", "i1", ("lon",))
    tiny[:] = [1, 2, 3, 4, 5, 6]
    ds.close()


def zero_records(path, fmt):
    ds = netCDF4.Dataset(path, "w", format=fmt)
    ds.createDimension("time", None)
    ds.createDimension("x", 4)
    ds.title = "unlimited dimension, no record written"
    t = ds.createVariable("time", "f8", ("time",))
    t.units = "days since 2000-01-01"
    v = ds.createVariable("values", "f4", ("time", "x"))
    v.units = "1"
    c = ds.createVariable("flags", "i1", ("time", "x"))
    c.long_name = "a byte record variable"
    x = ds.createVariable("x", "i2", ("x",))
    x[:] = [1, 2, 3, 4]
    ds.close()


def one_record_variable(path, fmt):
    ds = netCDF4.Dataset(path, "w", format=fmt)
    ds.createDimension("time", None)
    ds.createDimension("band", 3)
    ds.createDimension("x", 5)
    band = ds.createVariable("band", "i4", ("band",))
    band[:] = [1, 2, 3]
    counts = ds.createVariable("counts", "i2", ("time", "band"))
    counts.long_name = "the only record variable: records of 6 bytes, not padded"
    counts[0:7] = values("i2", (7, 3), seed=60)
    fixed_after = ds.createVariable("fixed_after", "i1", ("x",))
    fixed_after[:] = [5, 4, 3, 2, 1]
    ds.close()


def large(path, fmt):
    """Variables above the tests' small chunk limit (3000 bytes): split along their first axis
    that fits, the last one at the end of the file (no room for a whole last chunk)."""
    ds = netCDF4.Dataset(path, "w", format=fmt)
    ds.createDimension("time", None)
    ds.createDimension("row", 11)
    ds.createDimension("row7", 7)
    ds.createDimension("row12", 12)
    ds.createDimension("col", 100)
    ds.createDimension("a", 40)
    ds.createDimension("b", 30)
    ds.createDimension("one", 1)
    evenly = ds.createVariable("evenly", "f8", ("row12", "col"))  # 9600 bytes: 4 chunks of 3 rows
    evenly[:] = values("f8", (12, 100), seed=70)
    middle = ds.createVariable("middle", "f8", ("row", "col"))  # 3 rows a chunk, the last partial
    middle[:] = values("f8", (11, 100), seed=71)
    deep = ds.createVariable("deep", "f4", ("one", "a", "b"))  # first axis 1: split along the second
    deep[:] = values("f4", (1, 40, 30), seed=72)
    per_record = ds.createVariable("per_record", "f4", ("time", "a", "b"))  # 4800 bytes a record
    per_record[0:2] = values("f4", (2, 40, 30), seed=73)
    ds.close()
    # A file without records whose last variable ends the file.
    with netCDF4.Dataset(path.replace(".nc", "_end.nc"), "w", format=fmt) as end:
        end.createDimension("row7", 7)
        end.createDimension("col", 100)
        last = end.createVariable("last", "f8", ("row7", "col"))
        last[:] = values("f8", (7, 100), seed=74)


def big_header(path, fmt):
    ds = netCDF4.Dataset(path, "w", format=fmt)
    ds.createDimension("x", 3)
    ds.long_text = "".join(f"line {i:06d} of a long global attribute\n" for i in range(9000))  # ~340 KB
    v = ds.createVariable("v", "f8", ("x",))
    v.units = "m"
    v[:] = [1.5, 2.5, 3.5]
    ds.close()


WRITERS = {"every_type": every_type, "fixed_only": fixed_only, "zero_records": zero_records,
           "one_record_variable": one_record_variable, "large": large, "big_header": big_header}
SAME_IN_NETCDF4 = ["every_type", "fixed_only", "zero_records", "one_record_variable"]


def write_all(out, netcdf4=False):
    os.makedirs(out, exist_ok=True)
    paths = []
    if netcdf4:
        for name in SAME_IN_NETCDF4:
            path = os.path.join(out, f"{name}_nc4.nc")
            WRITERS[name](path, "NETCDF4")
            paths.append(path)
        return paths
    for short, fmt in FORMATS.items():
        for name, writer in WRITERS.items():
            path = os.path.join(out, f"{name}_{short}.nc")
            writer(path, fmt)
            paths.append(path)
            if name == "large":
                paths.append(path.replace(".nc", "_end.nc"))
    return paths


if __name__ == "__main__":
    print(json.dumps(write_all(sys.argv[1], netcdf4="--netcdf4" in sys.argv[2:])))
