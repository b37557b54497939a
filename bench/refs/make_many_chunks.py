"""Write an HDF5 file (h5py, default format: version-1 B-tree chunk index) in which one variable
has exactly N chunks, for the scaling benchmark.

usage: make_many_chunks.py OUT.h5 N   (N a multiple of 250)
The variable `values` is int16 (N/250*8, 2000) in (8, 8) chunks (128 bytes each, above the
inline threshold of 100, so every chunk is a reference), next to a small `x` coordinate.
"""
import sys

import h5py
import numpy as np

out, n = sys.argv[1], int(sys.argv[2])
assert n % 250 == 0, "N must be a multiple of 250"
rows = n // 250 * 8
with h5py.File(out, "w") as f:
    data = (np.arange(rows * 2000, dtype=np.int64) % 30011).astype("i2").reshape(rows, 2000)
    v = f.create_dataset("values", data=data, chunks=(8, 8))
    v.attrs["units"] = "1"
    x = f.create_dataset("x", data=np.arange(2000, dtype="f4"))
    x.make_scale("x")
    v.dims[1].attach_scale(x)
    assert v.id.get_num_chunks() == n
