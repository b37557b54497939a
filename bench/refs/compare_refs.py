"""Compare two kerchunk reference files (ours, kerchunk's), normalising formatting only.

usage: compare_refs.py OURS_JSON THEIRS_JSON  -> JSON {keys, differences: {key: [...]}}
Adapted from test/fixtures/python/kerchunk_parity.py: metadata values (.zarray/.zattrs/.zgroup)
are parsed and must match in type too (1 is not 1.0); chunk references must match exactly.
"""
import json
import math
import sys

with open(sys.argv[1]) as f:
    ours = json.load(f)["refs"]
with open(sys.argv[2]) as f:
    theirs = json.load(f)["refs"]


def normalise(key, value):
    if isinstance(value, str) and key.rsplit("/", 1)[-1] in (".zarray", ".zattrs", ".zgroup"):
        return json.loads(value)
    return value


def compare(a, b, path, out):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a:
                out.append(f"{path}.{k}: missing from ours")
            elif k not in b:
                out.append(f"{path}.{k}: missing from kerchunk's")
            else:
                compare(a[k], b[k], f"{path}.{k}", out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            compare(x, y, f"{path}[{i}]", out)
    elif isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        pass
    elif type(a) is not type(b) or a != b:
        out.append(f"{path}: ours {json.dumps(a)[:200]} != kerchunk {json.dumps(b)[:200]}")


differences = {}
for key in sorted(set(ours) | set(theirs)):
    if key not in theirs:
        differences[key] = ["missing from kerchunk's"]
    elif key not in ours:
        differences[key] = ["missing from ours"]
    else:
        out = []
        compare(normalise(key, ours[key]), normalise(key, theirs[key]), key, out)
        if out:
            differences[key] = out
print(json.dumps({"keys": len(set(ours) | set(theirs)), "differences": differences}))
