import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError } from "@temporalio/client";
import { dayRange } from "../lib/calendar/periods.js";
import { censusDirect } from "../lib/census/census.js";
import type { CensusInput, CensusSummary } from "../lib/census/model/index.js";
import { loadDatasetRegistry } from "../lib/datasets/config.js";
import { optional, text, whole } from "../lib/settings/schema.js";
import { censusOptions, censusV1 } from "../workflows/census.js";
import { describeFailure } from "../workflows/failures.js";
import { onOff, parseCommandLine } from "./args.js";
import { connectClient, temporalOptions, temporalSettings } from "./connection.js";

const help = `usage: temporal-kerchunk census --dataset NAME --start YYYY-MM-DD --end YYYY-MM-DD
         [--exhaustive] [--stride N] [--direct [--config datasets.json]] [--id WORKFLOW_ID]
         [--address host:port] [--namespace ns] [--task-queue q]

Finds where a dataset's files change structure (eras) over a date range, reading metadata only:
per variable its presence, dtype, shape apart from the concat dimension, chunks, codecs, fill
value, packing (scale_factor, add_offset, _Unsigned), units and calendar. Reads the first, the
last and every N-th file (--stride, default 24) and bisects to each boundary; assumes no era
begins and ends between two samples (--exhaustive reads every file instead). Day outputs of a
backfill stand for their files. Writes census.json, census.md and census.svg to
<output prefix>/<root>/census/<start>..<end>/ in the dataset's output storage.

By default starts the censusV1 workflow (a worker must be running) and waits for it; --direct runs
the same steps in this process without Temporal, with the datasets of --config (or TK_CONFIG).`;

/** The eras, one line each, then the counts and where the report is. */
export function censusLines(summary: CensusSummary): string[] {
  const name = (key: string): string => key.slice(key.lastIndexOf("/") + 1);
  const { filesRead, outputsRead, bytesRead } = summary.counts;
  return [
    `census of ${summary.dataset} ${summary.start}..${summary.end}: ${summary.files} files, ${summary.eras.length} era${summary.eras.length === 1 ? "" : "s"} (${summary.mode}${summary.mode === "sampled" ? `, stride ${summary.stride}` : ""})`,
    ...summary.eras.map((e) => `era ${e.era} (aggregate ${e.aggregate}): ${e.files} file${e.files === 1 ? "" : "s"} from ${name(e.first)} to ${name(e.last)}${e.changes.length ? `\n  ${e.changes.join("\n  ")}` : ""}`),
    `read ${filesRead} files and ${outputsRead} day outputs, ${(bytesRead / 1e6).toFixed(2)} MB, in ${(summary.wallMs / 1000).toFixed(1)} s`,
    `report: ${summary.report}`,
  ];
}

export const censusCommand = {
  summary: "find where a dataset's files change structure (eras), reading metadata only",
  async run(args: string[]): Promise<number> {
    const line = parseCommandLine("census", args, {
      ...temporalOptions,
      dataset: text({ nonEmpty: true }),
      start: text(),
      end: text(),
      exhaustive: onOff(),
      stride: optional(whole({ min: 1 })),
      direct: onOff(),
      config: optional(text({ nonEmpty: true })),
      id: optional(text({ nonEmpty: true })),
    });
    if (line.help) {
      console.log(help);
      return 0;
    }
    const { values } = line;
    dayRange(values.start, values.end); // bad dates fail here, before anything starts
    const input: CensusInput = {
      dataset: values.dataset,
      start: values.start,
      end: values.end,
      ...(values.exhaustive ? { exhaustive: true } : {}),
      ...(values.stride ? { stride: values.stride } : {}),
    };
    if (values.direct) {
      const registry = await loadDatasetRegistry(values.config ?? process.env.TK_CONFIG);
      const summary = await censusDirect(registry.get(input.dataset), input.start, input.end, input);
      console.log(censusLines(summary).join("\n"));
      return 0;
    }
    const settings = temporalSettings(values);
    const { client, close } = await connectClient(settings);
    try {
      const options = censusOptions(input, values.id);
      let handle;
      try {
        handle = await client.workflow.start(censusV1, { ...options, taskQueue: settings.taskQueue });
        console.error(`started ${options.workflowId} on task queue ${settings.taskQueue}`);
      } catch (error) {
        if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
        console.error(`${options.workflowId} is already running; following it`);
        handle = client.workflow.getHandle<typeof censusV1>(options.workflowId);
      }
      try {
        console.log(censusLines(await handle.result()).join("\n"));
        return 0;
      } catch (error) {
        if (!(error instanceof WorkflowFailedError)) throw error;
        const { kind, message } = describeFailure(error.cause ?? error);
        console.error(`error: census ${options.workflowId} failed: ${kind}: ${message}`);
        return 1;
      }
    } finally {
      await close();
    }
  },
};
