/**
 * Arithmetic of row-major (C order) arrays, which HDF5 datasets, Zarr arrays and chunk grids all
 * are: element counts and the strides that turn a multi-index into a flat position.
 */

/** The number of elements of an array of `shape` (1 for a scalar's empty shape). */
export function product(shape: readonly number[]): number {
  let p = 1;
  for (const n of shape) p *= n;
  return p;
}

/** How far apart, in elements, neighbours along each axis are: the last axis varies fastest. */
export function rowMajorStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let stride = 1;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    strides[axis] = stride;
    stride *= shape[axis]!;
  }
  return strides;
}

/**
 * How many chunks of `chunkShape` cover `shape` along each axis (ceil). Made by a loop, not
 * `.map`: docs/benchmarks.md, "Deoptimizations".
 */
export function chunkGrid(shape: readonly number[], chunkShape: readonly number[]): number[] {
  const grid: number[] = [];
  for (let i = 0; i < shape.length; i++) grid.push(Math.ceil(shape[i]! / chunkShape[i]!));
  return grid;
}

/** The chunk shape of an array stored as one chunk: its shape, with 1 where a dimension is 0 (Zarr needs chunks of at least 1). */
export function wholeArrayChunk(shape: readonly number[]): number[] {
  const chunk: number[] = [];
  for (let i = 0; i < shape.length; i++) chunk.push(Math.max(shape[i]!, 1));
  return chunk;
}

/**
 * The grid of a Zarr array's chunk keys: at least one chunk along each axis (a dimension of length
 * 0 still has its key 0) and, for a scalar, one chunk (its key "0").
 */
export function chunkKeyGrid(shape: readonly number[], chunkShape: readonly number[]): number[] {
  if (shape.length === 0) return [1];
  const grid = chunkGrid(shape, chunkShape);
  for (let i = 0; i < grid.length; i++) grid[i] = Math.max(1, grid[i]!);
  return grid;
}
