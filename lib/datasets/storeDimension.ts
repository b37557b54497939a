import { ConfigError } from "../errors.js";

/**
 * The dimension an Icechunk store grows along: the dataset's one concat dimension. A rule of the
 * dataset's settings (checked when a spec is resolved) that the store also applies to the datasets
 * it is handed directly; `where` names the dataset in errors.
 */
export function concatDimension(dataset: { name: string; combine?: { concatDims?: string[] } }, where = `datasets.${dataset.name}`): string {
  const dims = dataset.combine?.concatDims ?? ["time"];
  if (dims.length !== 1) {
    throw new ConfigError(
      `${where}.combine.concatDims`,
      `an Icechunk store grows along exactly one dimension; got [${dims.join(", ")}]`,
    );
  }
  return dims[0]!;
}
