"""Compare two kerchunk reference files (ours, kerchunk's), normalising formatting only.

usage: compare_refs.py OURS_JSON THEIRS_JSON  -> JSON {keys, differences: {key: [...]}}
Uses python/refs_compare.py (as the tests do): metadata values (.zarray/.zattrs/.zgroup)
are parsed and must match in type too (1 is not 1.0); chunk references must match exactly.
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))
from refs_compare import diff_refs  # noqa: E402

with open(sys.argv[1]) as f:
    ours = json.load(f)["refs"]
with open(sys.argv[2]) as f:
    theirs = json.load(f)["refs"]


differences = diff_refs(ours, theirs)
print(json.dumps({"keys": len(set(ours) | set(theirs)), "differences": differences}))
