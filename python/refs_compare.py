"""Compare two kerchunk reference sets, normalising formatting only.

Shared by the test fixtures and the benchmarks. Metadata values (.zarray/.zattrs/.zgroup) are
parsed and must match in type too (1 is not 1.0: xarray decodes an int scale_factor differently);
chunk references must match exactly.
"""
import json
import math


def is_meta(key):
    return key.rsplit("/", 1)[-1] in (".zarray", ".zattrs", ".zgroup")


def normalise(key, value):
    if isinstance(value, str) and is_meta(key):
        return json.loads(value)
    return value


def compare(a, b, path, out):
    """Append to `out` one line per difference between a (ours) and b (kerchunk's)."""
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


def diff_refs(ours, theirs, keys=None):
    """{key: [differences]} over `keys` (default: every key of either side)."""
    differences = {}
    for key in sorted(keys if keys is not None else set(ours) | set(theirs)):
        if key not in theirs:
            differences[key] = ["missing from kerchunk's"]
        elif key not in ours:
            differences[key] = ["missing from ours"]
        else:
            out = []
            compare(normalise(key, ours[key]), normalise(key, theirs[key]), key, out)
            if out:
                differences[key] = out
    return differences
