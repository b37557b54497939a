"""Open a temporal-kerchunk Icechunk store as one xarray dataset, every era decoded on its own.

usage: open_icechunk.py STORE_FOLDER ARCHIVE_FOLDER [--branch main]   (prints the dataset)

A store keeps each era of an archive whose layout drifts (another scale_factor, dtype, chunk shape,
codec, fill value, units or calendar) in its own group: the root group is the first era, `era002`,
`era003`, ... the later ones (docs/design.md, "Icechunk output: eras"). Each group decodes with its
own attributes; concatenated after decoding, the range reads as one dataset. A variable absent from
an era reads as NaN there. Where a variable's attributes differ between eras (its units, say), the
concatenated variable drops them (combine_attrs="drop_conflicts"): open the era's group to see them.

Needs: icechunk, xarray, zarr (3), numpy (python/requirements.txt).
"""
import re
import sys

import xarray as xr
import zarr

ERA_GROUP = re.compile(r"^era(\d{3,})$")


def era_groups(store):
    """The store's eras in time order: None (the root group), then era002, era003, ..."""
    names = [name for name in zarr.open_group(store, mode="r").group_keys() if ERA_GROUP.match(name)]
    return [None] + sorted(names, key=lambda name: int(ERA_GROUP.match(name).group(1)))


def open_eras(store, dim="time", **kwargs):
    """Every era of the store, each decoded with its own attributes, concatenated along `dim`."""
    eras = [xr.open_zarr(store, group=group, consolidated=False, **kwargs) for group in era_groups(store)]
    if len(eras) == 1:
        return eras[0]
    return xr.concat(eras, dim=dim, data_vars="minimal", coords="minimal", compat="override", join="override",
                     combine_attrs="drop_conflicts")


def main():
    import argparse

    import icechunk

    parser = argparse.ArgumentParser()
    parser.add_argument("store")
    parser.add_argument("archive", help="the source folder the store's virtual chunks point into")
    parser.add_argument("--branch", default="main")
    args = parser.parse_args()
    archive = "file://" + args.archive.rstrip("/") + "/"
    repo = icechunk.Repository.open(icechunk.local_filesystem_storage(args.store),
                                    authorize_virtual_chunk_access={archive: icechunk.credentials.LocalFileSystemAccess})
    print(open_eras(repo.readonly_session(branch=args.branch).store))


if __name__ == "__main__":
    sys.exit(main())
