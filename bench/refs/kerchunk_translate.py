"""Time kerchunk's SingleHdf5ToZarr on one file, on S3 (through s3fs, default caching) or local.

usage: kerchunk_translate.py URL_OR_PATH OUT_JSON [--inline-threshold 100] [--endpoint URL]
                             [--get-chunk-info]
  -> prints JSON {wall_ms, cpu_ms, chunks}; kerchunk's refs go to OUT_JSON.
S3 credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. Only the translation is timed
(opening the file included, interpreter start-up and imports not), as for ours.
--get-chunk-info forces kerchunk's fallback chunk listing (h5py's get_chunk_info by index, the
path of kerchunk issue #331), used when h5py has no chunk_iter.
"""
import argparse
import json
import os
import pathlib
import time

from kerchunk.hdf import SingleHdf5ToZarr

parser = argparse.ArgumentParser()
parser.add_argument("source")
parser.add_argument("out")
parser.add_argument("--inline-threshold", type=int, default=100)
parser.add_argument("--endpoint")
parser.add_argument("--get-chunk-info", action="store_true")
args = parser.parse_args()

if args.get_chunk_info:
    # kerchunk checks callable(getattr(dsid, "chunk_iter", None)); h5py's type is immutable, so
    # shadow the builtin `callable` in kerchunk.hdf's globals to answer False for chunk_iter only.
    import builtins

    import kerchunk.hdf

    kerchunk.hdf.callable = lambda f: getattr(f, "__name__", "") != "chunk_iter" and builtins.callable(f)

wall0, cpu0 = time.perf_counter(), time.process_time()
if args.source.startswith("s3://"):
    import s3fs

    fs = s3fs.S3FileSystem(
        key=os.environ["AWS_ACCESS_KEY_ID"],
        secret=os.environ["AWS_SECRET_ACCESS_KEY"],
        client_kwargs={"endpoint_url": args.endpoint, "region_name": "us-east-1"},
    )
    with fs.open(args.source, "rb") as f:  # s3fs defaults: readahead cache, 50 MiB blocks
        refs = SingleHdf5ToZarr(f, args.source, inline_threshold=args.inline_threshold).translate()
else:
    # Ours name a local file by its file:// URL: give kerchunk the same, so refs compare exactly.
    url = pathlib.Path(args.source).resolve().as_uri()
    with open(args.source, "rb") as f:
        refs = SingleHdf5ToZarr(f, url, inline_threshold=args.inline_threshold).translate()
wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0

with open(args.out, "w") as f:
    json.dump(refs, f)
chunks = sum(1 for k in refs["refs"] if not k.rsplit("/", 1)[-1].startswith("."))
print(json.dumps({"wall_ms": wall * 1000, "cpu_ms": cpu * 1000, "chunks": chunks}))
