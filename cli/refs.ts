import { writeFile } from "node:fs/promises";
import { optional, text, whole } from "../lib/settings/schema.js";
import { serializeRefs } from "../lib/model/kerchunkJson.js";
import { translateHdf5 } from "../lib/refs/translate.js";
import { openSource } from "../lib/source/open.js";
import { onOff, parseCommandLine } from "./args.js";

const help = `usage: temporal-kerchunk refs <path | s3://bucket/key> [--inline-threshold 100] [-o out.json] [--anon]

Writes kerchunk references (version 1 JSON) for one HDF5/NetCDF4 file, reading only its metadata.
S3 settings come from the standard AWS environment (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL, keys);
--anon sends unsigned requests, for public buckets such as noaa-himawari8.
Without -o the JSON goes to standard output. A summary (requests, bytes, time) goes to standard error.`;

export const refsCommand = {
  summary: "kerchunk references for one file",
  async run(args: string[]): Promise<number> {
    const line = parseCommandLine(
      "refs",
      args,
      { "inline-threshold": optional(whole(), 100), output: optional(text({ nonEmpty: true })), anon: onOff() },
      { short: { o: "output" }, positionals: true },
    );
    if (line.help) {
      console.log(help);
      return 0;
    }
    const { values, positionals } = line;
    if (positionals.length !== 1) {
      console.error(help);
      return 2;
    }
    const inlineThreshold = values["inline-threshold"];
    const started = performance.now();
    const opened = openSource(positionals[0]!, { anonymous: values.anon });
    try {
      const result = await translateHdf5(opened.source, { inlineThreshold });
      const json = serializeRefs(result.refs);
      if (values.output) await writeFile(values.output, json);
      else process.stdout.write(`${json}\n`);
      for (const { variable, reason } of result.skipped) console.error(`warning: ${variable} left out: ${reason}`);
      for (const { path, message } of result.warnings) console.error(`warning: ${path}: ${message}`);
      console.error(
        `${opened.source.url}: ${Object.keys(result.refs.refs).length} keys, ${result.chunkCount} chunks; ` +
          `${opened.origin.stats.requests} requests, ${opened.origin.stats.bytes} bytes read, ` +
          `${Math.round(performance.now() - started)} ms`,
      );
      return 0;
    } finally {
      await opened.close();
    }
  },
};
