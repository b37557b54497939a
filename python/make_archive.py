"""Write a small Himawari-like archive: one file per hour, keyed like s3://noaa-himawari8.

usage: make_archive.py OUT_DIR START_DAY DAYS [--hours N] [--grid NY NX] [--corrupt REL_KEY ...]
                       [--format NETCDF4|NETCDF3_CLASSIC|NETCDF3_64BIT_OFFSET|NETCDF3_64BIT_DATA]
  -> JSON list of the keys written (relative to OUT_DIR)
Keys: AHI-L2-FLDK-SST/YYYY/MM/DD/HH00/YYYYMMDDHH0000-NCCF-L3C_GHRSST-SSTsubskin-AHI_H08-ACSPO_V2.80-v02.0-fv01.0.nc
--corrupt writes garbage instead of HDF5 at those keys (to test failure handling).
"""
import argparse
import datetime as dt
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from himawari_like import archive_key, himawari_like  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("out")
parser.add_argument("start")
parser.add_argument("days", type=int)
parser.add_argument("--hours", type=int, default=24)
parser.add_argument("--grid", type=int, nargs=2, default=[60, 120])
parser.add_argument("--skip-days", nargs="*", default=[], help="days (YYYY-MM-DD) to leave without files")
parser.add_argument("--corrupt", nargs="*", default=[])
parser.add_argument("--format", default="NETCDF4", help="netCDF format of every file (netCDF-3 ones: same content, uncompressed)")
parser.add_argument("--plain-coordinates", action="store_true", help="lat and lon without filters, contiguous")
args = parser.parse_args()

start = dt.datetime.fromisoformat(args.start).replace(tzinfo=dt.timezone.utc)
epoch = dt.datetime(1981, 1, 1, tzinfo=dt.timezone.utc)
written = []
for d in range(args.days):
    day = start + dt.timedelta(days=d)
    if day.strftime("%Y-%m-%d") in args.skip_days:
        continue
    for h in range(args.hours):
        t = day + dt.timedelta(hours=h)
        key = archive_key(t)
        path = os.path.join(args.out, key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if key in args.corrupt:
            with open(path, "wb") as f:
                f.write(b"this is not an HDF5 file" * 10)
        else:
            seed = int(t.timestamp()) // 3600
            himawari_like(path, ny=args.grid[0], nx=args.grid[1], rng=np.random.default_rng(seed),
                          time_value=int((t - epoch).total_seconds()), fmt=args.format,
                          plain_coordinates=args.plain_coordinates)
        written.append(key)
print(json.dumps(written))
