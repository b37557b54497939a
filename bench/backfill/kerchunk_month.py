"""The kerchunk + s3fs anchor for bench/backfill/run.ts (--kerchunk): the same month, the same way a
kerchunk user would build it. Every file is translated with SingleHdf5ToZarr through s3fs (its
defaults: readahead cache, 50 MiB blocks), THREADS files at once in a thread pool; each day's files
are combined with MultiZarrToZarr (concat time, identical lat/lon, time values from the data) and
written as the day's JSON. Only the work is timed (interpreter start-up and imports not).

usage: kerchunk_month.py KEYS_JSON OUT_DIR --bucket B --endpoint URL [--threads 8] [--inline-threshold 100]
  -> prints JSON {wall_s, cpu_s, files, days, files_per_s, threads}
S3 credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
"""
import argparse
import json
import os
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import s3fs
from kerchunk.combine import MultiZarrToZarr
from kerchunk.hdf import SingleHdf5ToZarr

parser = argparse.ArgumentParser()
parser.add_argument("keys")
parser.add_argument("out")
parser.add_argument("--bucket", required=True)
parser.add_argument("--endpoint", required=True)
parser.add_argument("--threads", type=int, default=8)
parser.add_argument("--inline-threshold", type=int, default=100)
args = parser.parse_args()

with open(args.keys) as f:
    keys = json.load(f)
storage = {
    "key": os.environ["AWS_ACCESS_KEY_ID"],
    "secret": os.environ["AWS_SECRET_ACCESS_KEY"],
    "client_kwargs": {"endpoint_url": args.endpoint, "region_name": "us-east-1"},
}
fs = s3fs.S3FileSystem(**storage)
os.makedirs(args.out, exist_ok=True)

wall0, cpu0 = time.perf_counter(), time.process_time()


def translate(key):
    url = f"s3://{args.bucket}/{key}"
    with fs.open(url, "rb") as f:
        return key, SingleHdf5ToZarr(f, url, inline_threshold=args.inline_threshold).translate()


with ThreadPoolExecutor(args.threads) as pool:
    translated = dict(pool.map(translate, keys))

days = defaultdict(list)
for key in keys:
    days["-".join(key.split("/")[1:4])].append(translated[key])
for day, refs in sorted(days.items()):
    combined = MultiZarrToZarr(
        refs,
        concat_dims=["time"],
        identical_dims=["lat", "lon"],
        coo_map={"time": "data:time"},
        remote_protocol="s3",
        remote_options={**storage, "skip_instance_cache": True},
    ).translate()
    with open(os.path.join(args.out, f"{day}.json"), "w") as f:
        json.dump(combined, f)

wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
print(json.dumps({"wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "files": len(keys), "days": len(days), "files_per_s": round(len(keys) / wall, 1), "threads": args.threads}))
