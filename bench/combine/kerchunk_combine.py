"""One measurement of kerchunk's MultiZarrToZarr on the same inputs, in its own process.

usage: kerchunk_combine.py LIST_FILE [OUT_JSON]   -> one JSON line on stdout
Inputs are read and parsed first (not timed), as for our "memory" mode; then
MultiZarrToZarr(refs, concat_dims=["time"], coo_map={"time": "data:time"}, identical_dims=["lat", "lon"],
inline_threshold=0).translate() is timed. Peak memory is the process's maximum resident set.
"""
import json
import resource
import sys
import time
import warnings

import ujson
from kerchunk.combine import MultiZarrToZarr

warnings.simplefilter("ignore")
with open(sys.argv[1]) as f:
    files = [line.strip() for line in f if line.strip()]
refs = []
for path in files:
    with open(path) as f:
        refs.append(ujson.load(f))
started = time.perf_counter()
out = MultiZarrToZarr(refs, concat_dims=["time"], coo_map={"time": "data:time"}, identical_dims=["lat", "lon"],
                      remote_protocol="file", inline_threshold=0).translate()
combine_ms = (time.perf_counter() - started) * 1000
serialize_started = time.perf_counter()
text = ujson.dumps(out)
serialize_ms = (time.perf_counter() - serialize_started) * 1000
if len(sys.argv) > 2:
    with open(sys.argv[2], "w") as f:
        f.write(text)
print(json.dumps({"mode": "kerchunk", "inputs": len(files), "combineMs": combine_ms, "serializeMs": serialize_ms,
                  "keys": len(out["refs"]), "peakRssMiB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))
