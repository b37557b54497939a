import type { AttributeElement, Hdf5Dataset, Hdf5Object } from "../hdf5/model.js";

function attributeValue(dataset: Hdf5Dataset, name: string): AttributeElement[] | undefined {
  return dataset.attributes.find((a) => a.name === name)?.values;
}

export function isDimensionScale(dataset: Hdf5Dataset): boolean {
  const value = attributeValue(dataset, "CLASS")?.[0];
  return typeof value === "string" && value.replace(/\0+$/, "") === "DIMENSION_SCALE";
}

/** A dimension-scale problem that made us name an axis as if it had no scale. */
export interface DimensionWarning {
  variable: string;
  message: string;
}

export interface DimensionNames {
  /** `_ARRAY_DIMENSIONS` per dataset path. */
  names: Map<string, string[]>;
  warnings: DimensionWarning[];
}

/** An axis named by its attached scale, or still to be named (`undefined`). */
type Axis = string | undefined;

/**
 * The scale attached to each axis, as kerchunk reads `DIMENSION_LIST`: the path (without the leading
 * "/") of the one scale on the axis; a dimension scale's own first axis is itself. An axis whose
 * entry cannot be used (several scales, a reference to nothing in the file, a reference kind we do
 * not resolve, such as HDF5 1.12's revised references) is left unnamed, with a warning.
 */
function attachedScales(
  dataset: Hdf5Dataset,
  pathOf: (address: number) => string | undefined,
  warnings: DimensionWarning[],
): Axis[] {
  const rank = dataset.dataspace.shape.length;
  const list = attributeValue(dataset, "DIMENSION_LIST");
  const selfScale = isDimensionScale(dataset);
  const axes: Axis[] = [];
  for (let axis = 0; axis < rank; axis++) {
    const entry = list?.[axis];
    const refs = Array.isArray(entry) ? entry : [];
    if (refs.length === 1) {
      const ref = refs[0];
      const address = ref && typeof ref === "object" && "objectAddress" in ref ? Number(ref.objectAddress) : undefined;
      const path = address === undefined ? undefined : pathOf(address);
      if (path !== undefined) {
        axes.push(path.replace(/^\//, ""));
        continue;
      }
      warnings.push({
        variable: dataset.path,
        message:
          address === undefined
            ? `the dimension scale of axis ${axis} is a reference kind we do not resolve; named as an axis without a scale`
            : `the dimension scale of axis ${axis} points to no object in the file; named as an axis without a scale`,
      });
    } else if (refs.length > 1) {
      warnings.push({
        variable: dataset.path,
        message: `${refs.length} dimension scales are attached to axis ${axis}; named as an axis without a scale`,
      });
    } else if (selfScale && axis === 0) {
      axes.push(dataset.path.replace(/^\//, ""));
      continue;
    }
    axes.push(undefined);
  }
  return axes;
}

const parentOf = (path: string): string => path.slice(0, Math.max(path.lastIndexOf("/"), 0)) || "/";

/**
 * `_ARRAY_DIMENSIONS` for every dataset. Axes with a dimension scale are named by it (as kerchunk
 * does). Axes without one get phony dimensions the way h5netcdf's `phony_dims="sort"` names them,
 * so that xarray opens files whose unscaled datasets differ in length on an axis (kerchunk names
 * them `phony_dim_<axis>`, and xarray then fails with "conflicting sizes"):
 *  - per group (root first, then depth-first), a group needs, for each length, as many dimensions
 *    of that length as the one dataset with the most unscaled axes of it; the group's dimension
 *    scales of that length count towards them, phony ones make up the rest;
 *  - phony dimensions are numbered across the file, `phony_dim_<k>`, k counting every dimension
 *    (scale or phony) met so far, in group order, then length order of first appearance;
 *  - a dataset's unscaled axes of one length take the group's dimensions of that length in order.
 */
export function nameDimensions(objects: Hdf5Object[], pathOf: (address: number) => string | undefined): DimensionNames {
  const warnings: DimensionWarning[] = [];
  const names = new Map<string, string[]>();
  const groups = new Map<string, Hdf5Dataset[]>();
  for (const object of objects) {
    if (object.kind === "group" && !groups.has(object.path)) groups.set(object.path, []);
  }
  for (const object of objects) {
    if (object.kind !== "dataset") continue;
    const parent = parentOf(object.path);
    if (!groups.has(parent)) groups.set(parent, []);
    groups.get(parent)!.push(object);
  }

  let scalesSoFar = 0;
  let phonySoFar = 0;
  for (const datasets of groups.values()) {
    const axesOf = new Map(datasets.map((d) => [d.path, attachedScales(d, pathOf, warnings)]));
    // The group's own dimension scales: the dimensions it already has, by length.
    const dimensions: { name: string; length: number }[] = [];
    const scaledLengths = new Map<number, number>();
    for (const d of datasets) {
      if (!isDimensionScale(d) || d.dataspace.shape.length === 0) continue;
      scalesSoFar++;
      const length = d.dataspace.shape[0]!;
      dimensions.push({ name: d.path.replace(/^\//, ""), length });
      if (d.dataspace.maxShape[0] !== null) scaledLengths.set(length, (scaledLengths.get(length) ?? 0) + 1);
    }
    // For each length, the most unscaled axes of it in one dataset (Map keeps first-seen order).
    const needed = new Map<number, number>();
    for (const d of datasets) {
      const counts = new Map<number, number>();
      axesOf.get(d.path)!.forEach((axis, i) => {
        if (axis === undefined) {
          const length = d.dataspace.shape[i]!;
          counts.set(length, (counts.get(length) ?? 0) + 1);
        }
      });
      for (const [length, count] of counts) needed.set(length, Math.max(needed.get(length) ?? 0, count));
    }
    for (const [length, count] of needed) {
      for (let k = scaledLengths.get(length) ?? 0; k < count; k++) {
        dimensions.push({ name: `phony_dim_${phonySoFar + scalesSoFar}`, length });
        phonySoFar++;
      }
    }
    for (const d of datasets) {
      const taken = new Map<number, number>();
      const axes = axesOf.get(d.path)!.map((axis, i) => {
        if (axis !== undefined) return axis;
        const length = d.dataspace.shape[i]!;
        const k = taken.get(length) ?? 0;
        taken.set(length, k + 1);
        return dimensions.filter((x) => x.length === length)[k]!.name;
      });
      names.set(d.path, axes);
    }
  }
  return { names, warnings };
}
