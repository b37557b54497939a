"""A writer for files shaped like NOAA's Himawari-8 L3C SST product (netCDF-4 via netCDF-C).

Used by the test fixtures, the demo archive and the benchmarks, so they all exercise the same layout:
time unlimited (one step), lat/lon dimension scales, int16/int8 packed variables with
shuffle+deflate, CF attributes, and a scalar `crs`.
"""
import netCDF4
import numpy as np

SECONDS_1981 = 347155200  # 1981-01-01 in seconds since 1970-01-01


def archive_key(t):
    """The key of hour `t`'s file, as in s3://noaa-himawari8 (relative to the bucket)."""
    return (
        f"AHI-L2-FLDK-SST/{t:%Y/%m/%d/%H}00/"
        f"{t:%Y%m%d%H}0000-NCCF-L3C_GHRSST-SSTsubskin-AHI_H08-ACSPO_V2.80-v02.0-fv01.0.nc"
    )


def himawari_like(p, hour=0, ny=90, nx=180, time_chunk=1, rng=None, time_value=None, fmt="NETCDF4", plain_coordinates=False):
    """Write one file. `time_value` is seconds since 1981-01-01; `rng` makes the data reproducible.
    `fmt` "NETCDF3_64BIT_OFFSET" (or another netCDF-3 format) writes the same content as netCDF-3:
    netCDF-C ignores chunking and compression there, and the time-dependent variables become record
    variables. `plain_coordinates`: lat and lon stored without filters, contiguous, as netCDF-C
    stores a dimension coordinate by default (and bench/refs/make_himawari.py's granule does)."""
    rng = rng if rng is not None else np.random.default_rng(hour)
    ds = netCDF4.Dataset(p, "w", format=fmt)
    ds.createDimension("time", None)
    ds.createDimension("lat", ny)
    ds.createDimension("lon", nx)
    ds.Conventions = "CF-1.6, ACDD-1.3"
    ds.title = "Himawari-like L3C SST for tests"
    ds.product_version = np.float32(2.8)
    ds.gds_version_id = "2.0"
    t = ds.createVariable("time", "i4", ("time",))
    t.long_name = "reference time of sst file"
    t.standard_name = "time"
    t.units = "seconds since 1981-01-01 00:00:00"
    t.calendar = "Gregorian"
    t[:] = [time_value if time_value is not None else 1294790400 + 3600 * hour]
    filters = {} if plain_coordinates else {"zlib": True, "shuffle": True}
    lat = ds.createVariable("lat", "f4", ("lat",), **filters)
    lat.units = "degrees_north"
    lat.standard_name = "latitude"
    lat.valid_min = np.float32(-90)
    lat.valid_max = np.float32(90)
    lat[:] = np.linspace(59.98, -59.98, ny, dtype="f4")
    lon = ds.createVariable("lon", "f4", ("lon",), **filters)
    lon.units = "degrees_east"
    lon[:] = np.linspace(80.01, -159.99 + 360, nx, dtype="f4")
    chunks = (time_chunk, max(ny // 3, 1), max(nx // 2, 1))
    sst = ds.createVariable(
        "sea_surface_temperature", "i2", ("time", "lat", "lon"), zlib=True, shuffle=True,
        complevel=4, chunksizes=chunks, fill_value=np.int16(-32768),
    )
    sst.long_name = "sea surface sub-skin temperature"
    sst.units = "kelvin"
    sst.add_offset = np.float32(273.15)
    sst.scale_factor = np.float32(0.01)
    sst.valid_min = np.int16(-200)
    sst.valid_max = np.int16(5000)
    sst.coordinates = "time lat lon"
    data = rng.integers(-200, 5000, size=(1, ny, nx)).astype("i2")
    data[0, :5, :7] = -32768  # some missing values
    # The values are already packed: write them as they are (netCDF4-python would pack them again).
    sst.set_auto_maskandscale(False)
    sst[:] = data
    for name, dtype, fill in [("quality_level", "i1", np.int8(-128)), ("l2p_flags", "i2", None), ("sses_bias", "i1", np.int8(-128))]:
        v = ds.createVariable(name, dtype, ("time", "lat", "lon"), zlib=True, shuffle=True, chunksizes=chunks,
                              fill_value=fill if fill is not None else False)
        v.long_name = name.replace("_", " ")
        if name == "sses_bias":
            v.add_offset = np.float32(0.0)
            v.scale_factor = np.float32(0.02)
        if name == "quality_level":
            v.flag_values = np.array([0, 1, 2, 3, 4, 5], dtype="i1")
            v.flag_meanings = "no_data bad_data worst_quality low_quality acceptable_quality best_quality"
        v.set_auto_maskandscale(False)
        v[:] = rng.integers(0, 6, size=(1, ny, nx)).astype(dtype)
    crs = ds.createVariable("crs", "i4")
    crs.grid_mapping_name = "latitude_longitude"
    crs.semi_major_axis = 6378137.0
    ds.close()


