import { combineReferenceFilesAcrossDrift, writeCombinedReferencesAcrossDrift, type CombineSummary, type CoordinateSelector } from "../lib/combine/index.js";
import { driftPolicies } from "../lib/datasets/spec.js";
import { ConfigError } from "../lib/errors.js";
import { combineSettings } from "../lib/datasets/combineSettings.js";
import { oneOf, optional, repeated, text, whole } from "../lib/settings/schema.js";
import { onOff, parseCommandLine } from "./args.js";

const help = `usage: temporal-kerchunk combine <refs.json ...> --concat-dims time [--coo-map time=data:time]
         [--identical-dims lat,lon] [-o out.json | out.parq] [--time-units reencode|error]
         [--duplicates error|keep-first] [--identical-check values|metadata] [--drift split|fail]
         [--record-size 100000] [--anon]

Combines kerchunk reference files (local paths or s3:// URLs; single-file refs or combined ones,
for rollups) along the concat dimensions, like kerchunk's MultiZarrToZarr.
  --coo-map DIM=SELECTOR   data:<var> | cf:<var> | attr:<name> | vattr:<var>:<name> | INDEX (repeatable)
  -o out.json              compact kerchunk JSON v1 (byte-identical on re-runs); without -o, to stdout
  -o out.parq              kerchunk's Parquet reference folder, streamed with bounded memory
  --time-units             time units differing between inputs: re-encode to the first's, or fail
  --duplicates             same coordinate in two inputs: fail, or keep the one listed first
  --identical-check        compare identical dims' values (reads them), or metadata only
  --drift split            where the inputs' layout changes (packing, dtype, chunks, codecs, fill value,
                           units): one output per era, out.era001of002.json, ... (listed on standard
                           output); variables that come and go are held as their union (the default)
  --drift fail             fail there, as the combine did before
S3 settings come from the standard AWS environment; --anon sends unsigned requests.
A summary goes to standard error.`;

export const combineCommand = {
  summary: "combine kerchunk reference files along a dimension (MultiZarrToZarr)",
  async run(args: string[]): Promise<number> {
    const line = parseCommandLine(
      "combine",
      args,
      {
        // The combine's own declarations (lib/datasets/combineSettings.ts): same rules, same defaults.
        "concat-dims": optional(combineSettings.concatDims),
        "coo-map": optional(repeated(text()), []),
        "identical-dims": combineSettings.identicalDims,
        output: optional(text({ nonEmpty: true })),
        "time-units": combineSettings.timeUnits,
        duplicates: combineSettings.duplicates,
        "identical-check": combineSettings.identicalCheck,
        drift: optional(oneOf(driftPolicies), "split"),
        "record-size": optional(whole({ min: 1 }), 100_000),
        anon: onOff(),
      },
      { short: { o: "output" }, positionals: true },
    );
    if (line.help) {
      console.log(help);
      return 0;
    }
    const { values, positionals } = line;
    if (positionals.length === 0 || !values["concat-dims"]?.length) {
      console.error(help);
      return 2;
    }
    const cooMap: Record<string, CoordinateSelector> = {};
    for (const entry of values["coo-map"]) {
      const eq = entry.indexOf("=");
      if (eq <= 0) throw new ConfigError("--coo-map", `expected DIM=SELECTOR, got '${entry}'`);
      cooMap[entry.slice(0, eq)] = entry.slice(eq + 1);
    }
    const recordSize = values["record-size"];
    const options = {
      concatDims: values["concat-dims"],
      cooMap,
      identicalDims: values["identical-dims"],
      timeUnits: values["time-units"],
      duplicates: values.duplicates,
      identicalCheck: values["identical-check"],
      s3: { anonymous: values.anon },
    };
    const drift = values.drift;
    let summaries: CombineSummary[];
    if (values.output) {
      const written = await writeCombinedReferencesAcrossDrift(positionals, values.output, { ...options, drift, parquet: { recordSize } });
      // One era: exactly as without drift (the output named as given, nothing on standard output).
      if (written.length > 1) for (const part of written) console.log(part.output);
      summaries = written;
    } else {
      const results = await combineReferenceFilesAcrossDrift(positionals, { ...options, drift });
      if (results.length > 1) {
        throw new ConfigError("--drift", `the inputs span ${results.length} eras (a change one array cannot hold): give -o out.json to write one output per era (out.era001of${String(results.length).padStart(3, "0")}.json, ...), or --drift fail`);
      }
      process.stdout.write(results[0]!.json());
      process.stdout.write("\n");
      summaries = results.map((r) => r.summary);
    }
    for (const summary of summaries) report(summary);
    return 0;
  },
};

/** One line per output on standard error. */
function report(summary: CombineSummary): void {
  const along = Object.entries(summary.concat)
    .map(([dim, c]) => `${dim}: ${c.length} values ${String(c.first)} .. ${String(c.last)}`)
    .join("; ");
  console.error(
    `${summary.inputs} inputs combined${summary.dropped.length ? ` (${summary.dropped.length} duplicates dropped)` : ""}; ${along}; ` +
      `${summary.chunkRefs} chunk refs; ${summary.reencodedInputs} inputs' time re-encoded; ` +
      `${summary.reads.requests} reads (${summary.reads.bytes} bytes); ${summary.elapsedMs} ms`,
  );
}
