"""Write a Himawari-sized NOAA ACSPO L3C SST granule with netCDF4-python (the benchmark's input).

usage: make_himawari.py OUT.nc [SEED] [--define-first]

Shape and variable set of the hourly AHI L3C product on s3://noaa-himawari8 (AHI-L2-FLDK-SST):
a 0.02-degree lat/lon grid of 9000 x 18000 (60N..60S, 80E..160W), `time` unlimited with one step,
`lat`/`lon` float32 dimension scales, a scalar `crs`, and ten (1, 9000, 18000) packed-integer
variables, each chunked (1, 1000, 1000) with shuffle + deflate level 4 (162 chunks per variable).

The data are smooth fields with pixel noise, and the fill value wherever the product has none:
outside the full disk (view zenith angle above 68 degrees), over land, and under clouds. The
compressed size therefore lands in the range of the real granules (tens of MB), which is what the
"bytes read as a share of the file" aim is measured against.
Deterministic: the same script writes the same values (a fixed seed; another SEED writes the same
layout with other values and compressed sizes, as the next hour of an archive would).

By default each variable is defined and then written, one after the other, as a script that builds
its variables in turn does: netCDF-C then places every variable's object header (and, from the
ninth link on, the root group's dense link storage) after the data written before it.
--define-first defines every variable first and writes the data after, as a writer that leaves
define mode once does: the metadata then sit together before the data (docs/benchmarks.md,
"Round trips", compares the two).
"""
import sys

import netCDF4
import numpy as np

NY, NX = 9000, 18000
CHUNK = (1, 1000, 1000)
DEFINE_FIRST = "--define-first" in sys.argv
ARGS = [a for a in sys.argv[1:] if a != "--define-first"]
SEED = int(ARGS[1]) if len(ARGS) > 1 else 20220113
rng = np.random.default_rng(SEED)


def smooth(scale_y, scale_x, amplitude=1.0):
    """A smooth random field on the full grid: coarse noise, bilinearly upsampled."""
    cy, cx = NY // scale_y + 2, NX // scale_x + 2
    coarse = rng.standard_normal((cy, cx)).astype("f4") * amplitude
    yi = np.arange(NY, dtype="f4") / scale_y
    xi = np.arange(NX, dtype="f4") / scale_x
    y0 = yi.astype(int)
    x0 = xi.astype(int)
    fy = (yi - y0)[:, None]
    fx = (xi - x0)[None, :]
    out = np.empty((NY, NX), dtype="f4")
    # Row blocks keep the temporaries small.
    for start in range(0, NY, 1000):
        s = slice(start, start + 1000)
        a = coarse[y0[s]][:, x0]
        b = coarse[y0[s]][:, x0 + 1]
        c = coarse[y0[s] + 1][:, x0]
        d = coarse[y0[s] + 1][:, x0 + 1]
        ty = fy[s]
        out[s] = (a * (1 - fx) + b * fx) * (1 - ty) + (c * (1 - fx) + d * fx) * ty
    return out


lat = np.linspace(59.99, -59.99, NY, dtype="f4")
lon_east = np.linspace(80.01, 279.99, NX, dtype="f4")  # continuous across the date line
lon = np.where(lon_east > 180, lon_east - 360, lon_east).astype("f4")

# View zenith angle from the sub-satellite point (140.7E, 0N), approximately.
lat_r = np.deg2rad(lat)[:, None]
dlon_r = np.deg2rad(lon_east - 140.7)[None, :]
central = np.arccos(np.clip(np.cos(lat_r) * np.cos(dlon_r), -1, 1))  # great-circle angle
ratio = 6378.137 / 42164.0
zenith = np.rad2deg(np.arctan2(np.sin(central), np.cos(central) - ratio)).astype("f4")
in_disk = zenith <= 68.0
del lat_r, dlon_r, central

land = smooth(400, 400) + 0.4 * smooth(60, 60) > 0.9  # about a fifth of the grid
clouds = smooth(150, 150) + 0.5 * smooth(25, 25) > -0.15  # about two thirds of the rest
valid = in_disk & ~land & ~clouds
ocean = in_disk & ~land
del land, clouds
print(f"valid SST pixels: {valid.mean():.1%}", file=sys.stderr)

ds = netCDF4.Dataset(ARGS[0], "w", format="NETCDF4")
# The data writes, run as each variable is defined, or (--define-first) after all are.
writes = []


def write(run):
    if DEFINE_FIRST:
        writes.append(run)
    else:
        run()


ds.createDimension("time", None)
ds.createDimension("lat", NY)
ds.createDimension("lon", NX)
for name, value in {
    "Conventions": "CF-1.6, ACDD-1.3",
    "title": "Sea Surface Temperature from ACSPO Himawari-8 AHI (benchmark replica)",
    "summary": "Synthetic granule with the shape, variables and encoding of the ACSPO AHI L3C product",
    "id": "AHI_H08-STAR-L3C-v2.70",
    "naming_authority": "org.ghrsst",
    "product_version": "2.70",
    "gds_version_id": "2.0",
    "netcdf_version_id": netCDF4.__netcdf4libversion__,
    "institution": "NOAA/NESDIS/STAR",
    "processing_level": "L3C",
    "platform": "Himawari-8",
    "sensor": "AHI",
    "spatial_resolution": "0.02 deg",
    "start_time": "20220113T000000Z",
    "time_coverage_start": "20220113T000000Z",
    "time_coverage_end": "20220113T005959Z",
    "northernmost_latitude": np.float32(59.99),
    "southernmost_latitude": np.float32(-59.99),
    "easternmost_longitude": np.float32(-80.01),
    "westernmost_longitude": np.float32(80.01),
    "geospatial_lat_resolution": np.float32(0.02),
    "geospatial_lon_resolution": np.float32(0.02),
}.items():
    ds.setncattr(name, value)

t = ds.createVariable("time", "i4", ("time",))
t.long_name = "reference time of sst file"
t.standard_name = "time"
t.axis = "T"
t.units = "seconds since 1981-01-01 00:00:00"
t.calendar = "Gregorian"
write(lambda: t.__setitem__(slice(None), [1294876800]))

v = lat_var = ds.createVariable("lat", "f4", ("lat",))
v.long_name = "latitude"
v.standard_name = "latitude"
v.axis = "Y"
v.units = "degrees_north"
v.valid_min = np.float32(-90)
v.valid_max = np.float32(90)
write(lambda: lat_var.__setitem__(slice(None), lat))
v = lon_var = ds.createVariable("lon", "f4", ("lon",))
v.long_name = "longitude"
v.standard_name = "longitude"
v.axis = "X"
v.units = "degrees_east"
v.valid_min = np.float32(-180)
v.valid_max = np.float32(180)
write(lambda: lon_var.__setitem__(slice(None), lon))

crs = ds.createVariable("crs", "i4", ())
crs.grid_mapping_name = "latitude_longitude"
crs.semi_major_axis = 6378137.0
crs.inverse_flattening = 298.257223563
crs.comment = "WGS84 latitude and longitude"


def variable(name, dtype, fill, attrs, values, mask):
    """One (1, 9000, 18000) packed variable; `values()` are already in the packed integer units."""
    var = ds.createVariable(
        name, dtype, ("time", "lat", "lon"), zlib=True, shuffle=True, complevel=4,
        chunksizes=CHUNK, fill_value=np.array(fill, dtype=dtype),
    )
    var.set_auto_maskandscale(False)
    for key, value in attrs.items():
        var.setncattr(key, value)
    var.coordinates = "time lat lon"
    var.grid_mapping = "crs"

    def run():
        info = np.iinfo(dtype)
        packed = np.clip(np.rint(values()), info.min + 1, info.max).astype(dtype)
        packed[~mask] = fill
        var[0, :, :] = packed
        print(f"{name} written", file=sys.stderr)

    write(run)


noise = lambda scale: rng.standard_normal((NY, NX), dtype="f4") * scale  # noqa: E731

def sst_kelvin():
    return 300.5 - 28.0 * (np.abs(lat)[:, None] / 60.0) ** 1.6 + 1.5 * smooth(200, 200) + noise(0.05)
variable(
    "sea_surface_temperature", "i2", -32768,
    {"long_name": "sea surface sub-skin temperature", "standard_name": "sea_surface_subskin_temperature",
     "units": "kelvin", "add_offset": np.float32(273.15), "scale_factor": np.float32(0.01),
     "valid_min": np.int16(-200), "valid_max": np.int16(5000), "source": "NOAA",
     "comment": "SST obtained by regression with buoy measurements"},
    lambda: (sst_kelvin() - 273.15) / 0.01, valid,
)
variable(
    "sst_dtime", "i2", -32768,
    {"long_name": "time difference from reference time", "units": "seconds", "add_offset": np.float32(0),
     "scale_factor": np.float32(1), "valid_min": np.int16(-32767), "valid_max": np.int16(32767),
     "comment": "time plus sst_dtime gives seconds since 1981-01-01 00:00:00 UTC"},
    lambda: np.linspace(600, 3000, NY)[:, None] + 300 * smooth(300, 300), valid,
)
variable(
    "sses_bias", "i1", -128,
    {"long_name": "SSES bias error based on proximity confidence flags", "units": "kelvin",
     "add_offset": np.float32(0), "scale_factor": np.float32(0.016), "valid_min": np.int8(-127),
     "valid_max": np.int8(127)},
    lambda: 0.1 * smooth(100, 100) / 0.016, valid,
)
variable(
    "sses_standard_deviation", "i1", -128,
    {"long_name": "SSES standard deviation", "units": "kelvin", "add_offset": np.float32(1.0),
     "scale_factor": np.float32(0.008), "valid_min": np.int8(-127), "valid_max": np.int8(127)},
    lambda: (0.4 + 0.1 * smooth(100, 100) - 1.0) / 0.008, valid,
)
variable(
    "dt_analysis", "i1", -128,
    {"long_name": "deviation from SST reference", "units": "kelvin", "add_offset": np.float32(0),
     "scale_factor": np.float32(0.1), "valid_min": np.int8(-127), "valid_max": np.int8(127),
     "reference": "CMC 0.1 deg SST"},
    lambda: (0.5 * smooth(80, 80) + noise(0.03)) / 0.1, valid,
)
variable(
    "wind_speed", "i1", -128,
    {"long_name": "wind speed", "standard_name": "wind_speed", "units": "m s-1", "height": "10 m",
     "add_offset": np.float32(0), "scale_factor": np.float32(0.15), "valid_min": np.int8(-127),
     "valid_max": np.int8(127), "source": "GFS"},
    lambda: (7.0 + 3.0 * smooth(250, 250)) / 0.15, ocean,
)
variable(
    "sea_ice_fraction", "i1", -128,
    {"long_name": "sea ice fraction", "standard_name": "sea_ice_area_fraction", "units": "1",
     "add_offset": np.float32(0), "scale_factor": np.float32(0.01), "valid_min": np.int8(0),
     "valid_max": np.int8(100), "source": "NCEP"},
    lambda: np.where(np.abs(lat)[:, None] > 55, 100 * np.clip(smooth(300, 300), 0, 1), 0), ocean,
)
variable(
    "satellite_zenith_angle", "i1", -128,
    {"long_name": "satellite zenith angle", "units": "angular_degree", "add_offset": np.float32(0),
     "scale_factor": np.float32(1), "valid_min": np.int8(-90), "valid_max": np.int8(90),
     "comment": "satellite zenith angle"},
    lambda: zenith, in_disk,
)
def flags():
    return (~ocean).astype("i2") * 2 + (np.abs(lat)[:, None] > 55).astype("i2") * 4 * (smooth(300, 300) > 0.5)
variable(
    "l2p_flags", "i2", -32768,
    {"long_name": "L2P flags", "valid_min": np.int16(0), "valid_max": np.int16(32767),
     "flag_meanings": "microwave land ice lake river reserved_for_future_use day/night",
     "flag_masks": np.array([1, 2, 4, 8, 16, 32, 64, 128], dtype="i2"),
     "comment": "These flags are important to properly use the data."},
    lambda: flags(), in_disk,
)
def quality():
    return np.where(valid, 5 - (smooth(60, 60) > 0.8).astype("i1") * 2, np.where(ocean, 1, 0))
variable(
    "quality_level", "i1", -128,
    {"long_name": "quality level of SST pixel", "valid_min": np.int8(0), "valid_max": np.int8(5),
     "flag_values": np.array([0, 1, 2, 3, 4, 5], dtype="i1"),
     "flag_meanings": "no_data bad_data worst_quality low_quality acceptable_quality best_quality",
     "comment": "These are the overall quality indicators and are used for all GHRSST SSTs"},
    lambda: quality(), in_disk,
)
for run in writes:
    run()
ds.close()
