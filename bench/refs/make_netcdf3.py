"""Write the netCDF-3 benchmark's input: python/himawari_like.py's layout as netCDF-3 (64-bit offset).

usage: make_netcdf3.py OUT.nc [NY NX]   (default 3000 x 6000)

`time` unlimited with one record; sea_surface_temperature, quality_level, l2p_flags and sses_bias
are record variables (int16/int8, their records padded to 4 bytes), lat/lon fixed, crs scalar. At
the default grid the file is about 108 MB and each int16 field (36 MB a record) is above the
reader's 16 MiB split limit, so it is referenced as 3 chunks of 1000 rows. Deterministic (seeded).
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))
from himawari_like import himawari_like  # noqa: E402

ny, nx = (int(sys.argv[2]), int(sys.argv[3])) if len(sys.argv) > 3 else (3000, 6000)
himawari_like(sys.argv[1], ny=ny, nx=nx, rng=np.random.default_rng(20220113), fmt="NETCDF3_64BIT_OFFSET")
