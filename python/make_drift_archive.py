"""Write a Himawari-like archive whose layout drifts: one file per hour, keyed like make_archive.py.

usage: make_drift_archive.py OUT_DIR START_DAY DAYS [--hours N] [--grid NY NX] [--changes JSON_OR_FILE]
  -> JSON list of the keys written (relative to OUT_DIR)

Real archives change layout when the producer ships a new version (issue 17): this writer makes such
archives on purpose. `--changes` is a JSON list (inline, or a path to a file) of
`{"at": "YYYY-MM-DDTHH", "set": {<parameter>: <value>, ...}}`; a file written for hour t uses the
base parameters overlaid with every change whose `at` <= t, in order. Parameters (base value):

  scale_factor (0.01), add_offset (273.15), unsigned (false: _Unsigned="true" on a signed dtype, the
      packed values offset into the unsigned range)   -> packing of sea_surface_temperature
  dtype ("i2")            packed integer dtype of sea_surface_temperature, or "f4"/"f8" (unpacked)
  chunks ([1, ny//3, nx//2])  its chunk shape (time, lat, lon)
  zlib (true), complevel (4), shuffle (true)   its codec pipeline
  fill_value (-32768)     its _FillValue (in the packed dtype)
  units ("kelvin")        "kelvin", "K" or "celsius" (values then written in degrees Celsius)
  wind_speed (false)      whether the variable wind_speed (time, lat, lon) exists: appears/disappears
  wind_chunks (null: as sea_surface_temperature's)  wind_speed's chunk shape (time, lat, lon)
  wind_fill (true)        whether wind_speed has a _FillValue (NaN); false: none, as netCDF4 writes
      a variable created without fill_value (netCDF's default fill)
  steps (1)               time steps in the file, spread evenly over its hour (a chunk along time
      longer than 1 needs files of several steps)
  version ("ACSPO_V2.80") the global product_version string: descriptive only
  calendar ("Gregorian")  the time coordinate's calendar (e.g. "proleptic_gregorian": the same dates
      after 1582, another calendar for CF and for the combine)
  lat_long_name (null: none)  a long_name attribute on lat (an identicalDims array: every attribute
      of it counts for the combine)
  crs_dtype ("i4")        the dtype of the scalar crs (no time dimension: the combine carries the
      first file's and compares nothing)
Every file also gets its own `date_created` and `history` (descriptive: they change every file).

Values are written consistently: the decoded sea surface temperature of a file is the same smooth
field (plus seeded noise) whatever the packing, dtype or units, to packing precision, so a reader
that decodes each file with its own attributes sees a continuous series.
"""
import argparse
import datetime as dt
import json
import os
import sys

import netCDF4
import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from himawari_like import archive_key  # noqa: E402

EPOCH = dt.datetime(1981, 1, 1, tzinfo=dt.timezone.utc)

BASE = {
    "scale_factor": 0.01,
    "add_offset": 273.15,
    "unsigned": False,
    "dtype": "i2",
    "chunks": None,
    "zlib": True,
    "complevel": 4,
    "shuffle": True,
    "fill_value": -32768,
    "units": "kelvin",
    "wind_speed": False,
    "version": "ACSPO_V2.80",
    "calendar": "Gregorian",
    "wind_chunks": None,
    "wind_fill": True,
    "steps": 1,
    "lat_long_name": None,
    "crs_dtype": "i4",
}


def parse_changes(text):
    if text is None:
        return []
    if os.path.exists(text):
        with open(text) as f:
            text = f.read()
    changes = json.loads(text)
    out = []
    for change in changes:
        unknown = set(change["set"]) - set(BASE)
        if unknown:
            raise SystemExit(f"--changes: unknown parameter(s) {sorted(unknown)} at {change['at']} (known: {sorted(BASE)})")
        at = dt.datetime.strptime(change["at"], "%Y-%m-%dT%H").replace(tzinfo=dt.timezone.utc)
        out.append((at, change["set"]))
    return sorted(out, key=lambda c: c[0])


def parameters_at(t, changes):
    p = dict(BASE)
    for at, values in changes:
        if at <= t:
            p.update(values)
    return p


def true_sst_kelvin_steps(t, steps, ny, nx):
    """The field at each of the file's steps (one file: `steps` times spread over its hour)."""
    return np.concatenate([true_sst_kelvin(step_time(t, k, steps), ny, nx) for k in range(steps)])


def step_time(t, k, steps):
    return t + dt.timedelta(seconds=k * 3600 // steps)


def true_sst_kelvin(t, ny, nx):
    """The physical field every file samples: smooth in space and time, plus reproducible noise."""
    hours = (t - EPOCH).total_seconds() / 3600
    lat = np.linspace(59.98, -59.98, ny)[:, None]
    lon = np.linspace(80.01, 200.01, nx)[None, :]
    field = 288.0 + 10.0 * np.cos(np.radians(lat)) + 2.0 * np.sin(np.radians(lon) + hours / 24.0)
    noise = np.random.default_rng(int(hours)).normal(0.0, 0.2, size=(ny, nx))
    return (field + noise)[None, :, :]


def write_file(path, t, p, ny, nx):
    ds = netCDF4.Dataset(path, "w", format="NETCDF4")
    ds.createDimension("time", None)
    ds.createDimension("lat", ny)
    ds.createDimension("lon", nx)
    ds.Conventions = "CF-1.6, ACDD-1.3"
    ds.title = "Himawari-like L3C SST with layout drift, for tests"
    ds.product_version = p["version"]
    ds.date_created = (t + dt.timedelta(hours=3, minutes=17)).strftime("%Y%m%dT%H%M%SZ")
    ds.history = f"written by make_drift_archive.py for {t:%Y-%m-%dT%H}"
    time = ds.createVariable("time", "i4", ("time",))
    time.standard_name = "time"
    time.units = "seconds since 1981-01-01 00:00:00"
    time.calendar = p["calendar"]
    steps = int(p["steps"])
    time[:] = [int((step_time(t, k, steps) - EPOCH).total_seconds()) for k in range(steps)]
    lat = ds.createVariable("lat", "f4", ("lat",), zlib=True, shuffle=True)
    lat.units = "degrees_north"
    if p["lat_long_name"] is not None:
        lat.long_name = p["lat_long_name"]
    lat[:] = np.linspace(59.98, -59.98, ny, dtype="f4")
    lon = ds.createVariable("lon", "f4", ("lon",), zlib=True, shuffle=True)
    lon.units = "degrees_east"
    lon[:] = np.linspace(80.01, 200.01, nx, dtype="f4")

    chunks = tuple(p["chunks"]) if p["chunks"] else (1, max(ny // 3, 1), max(nx // 2, 1))
    dtype = np.dtype(p["dtype"])
    packed = dtype.kind in "iu"
    fill = dtype.type(p["fill_value"])
    sst = ds.createVariable(
        "sea_surface_temperature", dtype, ("time", "lat", "lon"), zlib=p["zlib"], shuffle=p["shuffle"],
        complevel=p["complevel"], chunksizes=chunks, fill_value=fill,
    )
    sst.long_name = "sea surface sub-skin temperature"
    sst.units = p["units"]
    sst.coordinates = "time lat lon"
    value = true_sst_kelvin_steps(t, steps, ny, nx)
    if p["units"] == "celsius":
        value = value - 273.15
    missing = np.zeros(value.shape, dtype=bool)
    missing[:, : max(ny // 10, 1), : max(nx // 10, 1)] = True
    if packed:
        scale, offset = np.float32(p["scale_factor"]), np.float32(p["add_offset"])
        sst.scale_factor = scale
        sst.add_offset = offset
        ints = np.round((value - np.float64(offset)) / np.float64(scale))
        if p["unsigned"]:
            sst.setncattr("_Unsigned", "true")
            unsigned = np.dtype(dtype.str.replace("i", "u"))
            stored = ints.astype(unsigned).view(dtype)  # the bits an unsigned reader decodes back to `ints`
        else:
            info = np.iinfo(dtype)
            if ints.min() < info.min or ints.max() > info.max:
                raise SystemExit(f"{path}: packed values do not fit {dtype} (scale_factor {scale}, add_offset {offset})")
            stored = ints.astype(dtype)
        stored[missing] = fill
    else:
        stored = value.astype(dtype)
        stored[missing] = fill
    sst.set_auto_maskandscale(False)
    sst[:] = stored

    quality = ds.createVariable("quality_level", "i1", ("time", "lat", "lon"), zlib=True, shuffle=True, chunksizes=chunks, fill_value=np.int8(-128))
    quality.long_name = "quality level"
    quality[:] = np.random.default_rng(int(time[0])).integers(0, 6, size=(steps, ny, nx)).astype("i1")
    if p["wind_speed"]:
        wind_chunks = tuple(p["wind_chunks"]) if p["wind_chunks"] else chunks
        wind_fill = np.float32(np.nan) if p["wind_fill"] else None
        wind = ds.createVariable("wind_speed", "f4", ("time", "lat", "lon"), zlib=True, shuffle=True, chunksizes=wind_chunks, fill_value=wind_fill)
        wind.units = "m s-1"
        wind[:] = np.full((steps, ny, nx), 5.0, dtype="f4") + np.float32(t.hour) / 10
    crs = ds.createVariable("crs", p["crs_dtype"])
    crs.grid_mapping_name = "latitude_longitude"
    ds.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("start")
    parser.add_argument("days", type=int)
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--grid", type=int, nargs=2, default=[12, 24])
    parser.add_argument("--changes", default=None, help="JSON list of {at, set} (inline or a file path)")
    args = parser.parse_args()
    changes = parse_changes(args.changes)
    start = dt.datetime.fromisoformat(args.start).replace(tzinfo=dt.timezone.utc)
    written = []
    for d in range(args.days):
        day = start + dt.timedelta(days=d)
        for h in range(args.hours):
            t = day + dt.timedelta(hours=h)
            key = archive_key(t)
            path = os.path.join(args.out, key)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            write_file(path, t, parameters_at(t, changes), args.grid[0], args.grid[1])
            written.append(key)
    print(json.dumps(written))


if __name__ == "__main__":
    main()
