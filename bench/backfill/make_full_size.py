"""Write an archive of Himawari-sized hourly files (9000 x 18000, 72 MB each), keyed as make_archive.py keys.

usage: make_full_size.py OUT_DIR START_DAY DAYS [--hours N] [--seeds-dir DIR]
  -> JSON list of the keys written (relative to OUT_DIR)

Writing one granule with bench/refs/make_himawari.py takes about two minutes, so the archive is
made from five of them (seeds 20220113, 7, 11, 3 and 5: the same layout, one variable after the
other, other values and compressed sizes, so their metadata sit at other offsets, as the next hours
of a real archive's do): the archive's n-th file is a copy of granule n % 5 whose `time` value is
that hour's (seconds since 1981-01-01, as make_archive.py writes it), patched in place at the
offset of `time`'s one chunk, which h5py reports (unfiltered: no checksum or filter to update).
Five, not three: 24 files a day is a multiple of three, so with three the days a worker runs side
by side would read the same granule at the same hour, and `LayoutHints` (lib/source/layoutHints.ts)
would take two identical files' agreement for the archive's layout, which no two real granules give
it. The granules are written once into --seeds-dir (default: OUT_DIR's parent) and reused.
"""
import argparse
import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "python"))
from himawari_like import archive_key  # noqa: E402

MAKE_HIMAWARI = os.path.join(REPO, "bench", "refs", "make_himawari.py")
SEEDS = [20220113, 7, 11, 3, 5]

parser = argparse.ArgumentParser()
parser.add_argument("out")
parser.add_argument("start")
parser.add_argument("days", type=int)
parser.add_argument("--hours", type=int, default=24)
parser.add_argument("--seeds-dir")
args = parser.parse_args()

seeds_dir = args.seeds_dir or os.path.dirname(os.path.abspath(args.out))
with open(MAKE_HIMAWARI, "rb") as f:
    script_hash = hashlib.sha256(f.read()).hexdigest()[:12]


def granule(seed):
    """The granule of `seed`, written by make_himawari.py once (keyed by its hash), and the offset of its time chunk."""
    path = os.path.join(seeds_dir, f"full-size-{seed}-{script_hash}.nc")
    if not os.path.exists(path):
        print(f"writing {path} (about two minutes)", file=sys.stderr)
        subprocess.run([sys.executable, MAKE_HIMAWARI, path + ".part", str(seed)], check=True)
        os.replace(path + ".part", path)
    with h5py.File(path, "r") as h:
        time = h["time"]
        if time.compression is not None or time.id.get_num_chunks() != 1 or time.dtype != np.dtype("<i4"):
            sys.exit(f"{path}: `time` is not one unfiltered little-endian int32 chunk; cannot patch its value in place")
        offset = time.id.get_chunk_info(0).byte_offset
    return path, offset


granules = [granule(seed) for seed in SEEDS]
start = dt.datetime.fromisoformat(args.start).replace(tzinfo=dt.timezone.utc)
epoch = dt.datetime(1981, 1, 1, tzinfo=dt.timezone.utc)
written = []
for d in range(args.days):
    for h in range(args.hours):
        t = start + dt.timedelta(days=d, hours=h)
        key = archive_key(t)
        path = os.path.join(args.out, key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        source, offset = granules[(d * args.hours + h) % len(granules)]
        shutil.copyfile(source, path + ".part")
        with open(path + ".part", "r+b") as f:
            f.seek(offset)
            f.write(np.array(int((t - epoch).total_seconds()), dtype="<i4").tobytes())
        os.replace(path + ".part", path)
        written.append(key)
print(json.dumps(written))
