"""Compare two kerchunk reference sets (ours, kerchunk's), normalising formatting only.

Shared by the test fixtures and the benchmarks. Metadata values (.zarray/.zattrs/.zgroup) are
parsed and must match in type too (1 is not 1.0: xarray decodes an int scale_factor differently);
chunk references must match exactly. Two deliberate differences of ours are checked, then
normalised (docs/design.md, "Where we differ from kerchunk"):
  - non-finite floats: we write Zarr's strings "NaN", "Infinity", "-Infinity" (strict JSON);
    kerchunk writes bare literals in attributes and in MultiZarrToZarr's fill_value. The string
    equals only the same non-finite float.
  - `_FillValue` in our .zattrs (for Zarr v3 readers; kerchunk keeps it only as the .zarray
    fill_value): dropped only where it is exactly what xarray's own encoder writes for our
    .zarray's fill_value and dtype; any other value shows as a difference.
"""
import json
import math

import numpy as np
from xarray.backends.zarr import FillValueCoder

NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


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
    elif isinstance(a, str) and a in NON_FINITE and isinstance(b, float) and not math.isfinite(b):
        if not (math.isnan(b) if a == "NaN" else b == NON_FINITE[a]):
            out.append(f"{path}: ours {json.dumps(a)} != kerchunk {json.dumps(b)}")
    elif type(a) is not type(b) or a != b:
        out.append(f"{path}: ours {json.dumps(a)[:200]} != kerchunk {json.dumps(b)[:200]}")


def fill_value_attribute(zarray):
    """The `_FillValue` attribute xarray writes for Zarr v3 given a v2 .zarray's fill_value."""
    dtype = np.dtype(zarray["dtype"])
    fill = zarray["fill_value"]
    if fill is None:
        return None
    if isinstance(fill, str) and fill in NON_FINITE:
        fill = NON_FINITE[fill]
    return FillValueCoder.encode(fill, dtype)


def without_checked_fill_attribute(key, attrs, ours, theirs_attrs):
    """Our .zattrs without `_FillValue`, if kerchunk's has none and ours is the encoded fill_value."""
    if "_FillValue" not in attrs or "_FillValue" in theirs_attrs:
        return attrs
    zarray = json.loads(ours.get(key[: -len(".zattrs")] + ".zarray", "null"))
    if zarray is None or attrs["_FillValue"] != fill_value_attribute(zarray):
        return attrs
    return {k: v for k, v in attrs.items() if k != "_FillValue"}


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
            a, b = normalise(key, ours[key]), normalise(key, theirs[key])
            if key.endswith(".zattrs") and isinstance(a, dict) and isinstance(b, dict):
                a = without_checked_fill_attribute(key, a, ours, b)
            compare(a, b, key, out)
            if out:
                differences[key] = out
    return differences
