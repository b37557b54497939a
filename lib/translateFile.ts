import { netcdf3Version } from "./netcdf3/header.js";
import { translateNetcdf3, type Netcdf3TranslateOptions } from "./netcdf3/translate.js";
import { translateHdf5, type TranslateResult } from "./refs/translate.js";
import type { ByteSource } from "./source/byteSource.js";

/**
 * References for one file of either format we read, decided by its first bytes: "CDF" is netCDF-3
 * (classic, 64-bit offset, CDF-5), anything else goes to the HDF5 reader (netCDF-4 and HDF5 files;
 * it names what a file is when it is neither). Through a block cache the first read is the head
 * read both readers start from, so the switch costs no request.
 */
export async function translateFile(source: ByteSource, options: Netcdf3TranslateOptions = {}): Promise<TranslateResult> {
  const head = await source.read(0, Math.min(4, await source.size()));
  return netcdf3Version(head) === undefined ? translateHdf5(source, options) : translateNetcdf3(source, options);
}
