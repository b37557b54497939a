"""Time kerchunk's NetCDF3ToZarr on one file, on S3 (fsspec/s3fs) or local.

usage: kerchunk_netcdf3.py URL_OR_PATH OUT_JSON [--inline-threshold 100] [--endpoint URL]
  -> prints JSON {wall_ms, cpu_ms, chunks}; kerchunk's refs go to OUT_JSON.
As kerchunk_translate.py: only the translation is timed (opening included, imports not).
"""
import argparse
import json
import os
import pathlib
import time
import warnings

from kerchunk.netCDF3 import NetCDF3ToZarr

warnings.simplefilter("ignore")
parser = argparse.ArgumentParser()
parser.add_argument("source")
parser.add_argument("out")
parser.add_argument("--inline-threshold", type=int, default=100)
parser.add_argument("--endpoint")
args = parser.parse_args()

wall0, cpu0 = time.perf_counter(), time.process_time()
if args.source.startswith("s3://"):
    options = {"key": os.environ["AWS_ACCESS_KEY_ID"], "secret": os.environ["AWS_SECRET_ACCESS_KEY"],
               "client_kwargs": {"endpoint_url": args.endpoint, "region_name": "us-east-1"}}
    refs = NetCDF3ToZarr(args.source, storage_options=options, inline_threshold=args.inline_threshold).translate()
else:
    refs = NetCDF3ToZarr(pathlib.Path(args.source).resolve().as_uri(), inline_threshold=args.inline_threshold).translate()
wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0

with open(args.out, "w") as f:
    json.dump(refs, f)
chunks = sum(1 for k in refs["refs"] if not k.rsplit("/", 1)[-1].startswith("."))
print(json.dumps({"wall_ms": wall * 1000, "cpu_ms": cpu * 1000, "chunks": chunks}))
