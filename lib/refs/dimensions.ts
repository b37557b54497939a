import type { AttributeElement, Hdf5Dataset } from "../hdf5/model.js";
import { UnsupportedFeatureError } from "../errors.js";

function attributeValue(dataset: Hdf5Dataset, name: string): AttributeElement[] | undefined {
  return dataset.attributes.find((a) => a.name === name)?.values;
}

export function isDimensionScale(dataset: Hdf5Dataset): boolean {
  const value = attributeValue(dataset, "CLASS")?.[0];
  return typeof value === "string" && value.replace(/\0+$/, "") === "DIMENSION_SCALE";
}

/**
 * `_ARRAY_DIMENSIONS` as kerchunk derives it from HDF5 dimension scales: per axis, the path
 * (without the leading "/") of the one scale attached to it; the dataset's own path if it is a
 * scale itself; `phony_dim_<axis>` when nothing is attached (as netCDF-4 names such dimensions).
 */
export function arrayDimensions(url: string, dataset: Hdf5Dataset, pathOf: (address: number) => string | undefined): string[] {
  const rank = dataset.dataspace.shape.length;
  const dimensionList = attributeValue(dataset, "DIMENSION_LIST");
  const names: string[] = [];
  for (let axis = 0; axis < rank; axis++) {
    const attached = dimensionList?.[axis];
    const scales = Array.isArray(attached) ? attached : [];
    if (scales.length === 1) {
      const reference = scales[0];
      const address =
        reference && typeof reference === "object" && "objectAddress" in reference ? Number(reference.objectAddress) : NaN;
      const path = pathOf(address);
      if (path === undefined) {
        throw new UnsupportedFeatureError(url, dataset.path, `dimension scale of axis ${axis} points to no object in the file`);
      }
      names.push(path.replace(/^\//, ""));
    } else if (isDimensionScale(dataset)) {
      names.push(dataset.path.replace(/^\//, ""));
    } else if (scales.length > 1) {
      throw new UnsupportedFeatureError(url, dataset.path, `${scales.length} dimension scales attached to axis ${axis}`);
    } else {
      names.push(`phony_dim_${axis}`);
    }
  }
  return names;
}
