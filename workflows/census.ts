import { proxyActivities, setCurrentDetails } from "@temporalio/workflow";
import { DEFAULT_STRIDE, searchEras, type CensusFacts, type CensusInput, type CensusSteps, type CensusSummary } from "../lib/census/model/index.js";
import { withStatus } from "./options.js";
import { searchAttributesOf } from "./searchAttributes.js";

export type { CensusInput, CensusSummary } from "../lib/census/model/index.js";

const backoff = { initialInterval: "1 second", backoffCoefficient: 2, maximumInterval: "1 minute" } as const;

/**
 * Listing a range (a decade is ~3,650 day listings) and reading a batch of up to 256 files'
 * metadata both heartbeat: a killed worker's step is retried within 20 s on any worker. Bad input
 * (a corrupt file, an unknown dataset) fails at once, naming the file or the setting.
 */
const census = proxyActivities<CensusSteps>({ startToCloseTimeout: "30 minutes", heartbeatTimeout: "20 seconds", retry: { ...backoff, maximumAttempts: 20 } });

/** How a client (the CLI, a test) starts a census: a readable id, a summary, search attributes (TkLevel "census"). */
export function censusOptions(input: CensusInput, workflowId = `${input.dataset}/census/${input.start}..${input.end}`) {
  return {
    workflowId,
    args: [input] as [CensusInput],
    staticSummary: `census ${input.dataset} ${input.start}..${input.end}${input.exhaustive ? " (exhaustive)" : ""}`,
    typedSearchAttributes: searchAttributesOf(input.dataset, `${input.start}..${input.end}`, "census"),
  };
}

/** "3 eras: from 20220101000000-...nc; from 20220110000000-...nc: sst scale_factor 0.01 → 0.005" (Markdown, for the Web UI). */
function erasText(summary: CensusSummary): string {
  const name = (key: string): string => key.slice(key.lastIndexOf("/") + 1);
  const lines = summary.eras.map((e) => `- era ${e.era} (aggregate ${e.aggregate}): ${e.files} files from \`${name(e.first)}\`${e.changes.length ? `: ${e.changes.join("; ")}` : ""}`);
  const { filesRead, outputsRead, bytesRead } = summary.counts;
  return [`**${summary.eras.length} eras** in ${summary.files} files (${summary.mode}); read ${filesRead} files, ${outputsRead} day outputs, ${bytesRead} bytes`, ...lines, `report: ${summary.report}`].join("\n");
}

/**
 * A census of a dataset over a date range: which files share one structure (eras) and what changed
 * at each boundary. List the files (kept in storage: history carries file numbers, never keys),
 * read the first, the last and every stride-th (or every file), then bisect between neighbouring
 * files that differ, a round of activities at a time, until each boundary is two adjacent files;
 * then write census.json and census.md beside the dataset's outputs. The same steps and search as
 * `censusDirect` (lib/census), so both read the same files and give the same eras.
 */
export async function censusV1(input: CensusInput): Promise<CensusSummary> {
  return withStatus(
    async () => {
      const began = Date.now();
      const { dataset, start, end } = input;
      const exhaustive = input.exhaustive ?? false;
      const stride = input.stride ?? DEFAULT_STRIDE;
      setCurrentDetails("listing files");
      const listed = await census.listCensusFiles(dataset, start, end);
      const found = await searchEras(
        listed.files,
        {
          exhaustive,
          stride,
          onRound: (round, probes, readSoFar) => setCurrentDetails(`${listed.files} files in ${listed.days} days; round ${round}: reading ${probes} files (${readSoFar} read so far)`),
        },
        (batch) => census.readCensusSignatures(dataset, start, end, listed.listing, batch),
      );
      const facts: CensusFacts = { listing: listed.listing, mode: exhaustive ? "exhaustive" : "sampled", stride, ...found, wallMs: Date.now() - began };
      const summary = await census.writeCensusReport(dataset, start, end, facts);
      setCurrentDetails(erasText(summary));
      return summary;
    },
    () => "completed",
  );
}
