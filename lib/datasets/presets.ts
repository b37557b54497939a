import type { DatasetSpec } from "./spec.js";

/**
 * NOAA's Himawari-8 L3C SST archive (public bucket, one file an hour), as the seed notebook used
 * it: one reference file per day, `<dest>/AHI-L2-FLDK-SST/<YYYYMMDD>.json`. The output folder
 * defaults to ./refs; point it elsewhere in your config.
 */
export const himawari8Sst: DatasetSpec = {
  name: "himawari8-sst",
  description: "NOAA Himawari-8 AHI L3C SST (ACSPO), hourly, s3://noaa-himawari8/AHI-L2-FLDK-SST",
  source: {
    storage: { kind: "s3", bucket: "noaa-himawari8", region: "us-east-1", anonymous: true },
    root: "AHI-L2-FLDK-SST",
    template: "{year}/{month}/{day}/*/{year}{month}{day}*",
    extension: ".nc",
  },
  output: { storage: { kind: "local", path: "refs" }, prefix: "", suffix: "" },
  refs: { inlineThreshold: 100 },
  combine: { concatDims: ["time"], cooMap: { time: "data:time" }, identicalDims: ["lat", "lon"] },
  aggregation: "day",
};

export const presets: DatasetSpec[] = [himawari8Sst];
