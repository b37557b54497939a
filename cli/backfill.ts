import { WorkflowExecutionAlreadyStartedError } from "@temporalio/client";
import { parseArgs } from "node:util";
import { ConfigError } from "../lib/errors.js";
import { dayRange } from "../lib/calendar/periods.js";
import { datasetKey, levelKey, periodKey, statusKey } from "../workflows/searchAttributes.js";
import type { BackfillInput, BackfillSummary } from "../workflows/types.js";
import { connectClient, temporalOptions, temporalSettings } from "./connection.js";
import { followBackfill, printSummary } from "./progress.js";

const help = `usage: temporal-kerchunk backfill --dataset NAME --start YYYY-MM-DD --end YYYY-MM-DD
         [--max-days N] [--max-files N] [--files-per-activity N] [--fail-fast] [--id WORKFLOW_ID] [--no-wait]
         [--address host:port] [--namespace ns] [--task-queue q]

Starts the backfill workflow (a worker must be running: 'temporal-kerchunk worker'), then follows
its progress and prints the result per day, as 'temporal workflow start --type backfill' would
without the progress bar. Re-running a range skips every day whose output exists.`;

/** The workflow id users see in the Web UI: readable and the same for the same request. */
export const backfillWorkflowId = (input: BackfillInput): string => `${input.dataset}/backfill/${input.start}..${input.end}`;

export const backfillCommand = {
  summary: "start (and follow) a backfill over a date range",
  async run(args: string[]): Promise<number> {
    const { values } = parseArgs({
      args,
      options: {
        ...temporalOptions,
        dataset: { type: "string" },
        start: { type: "string" },
        end: { type: "string" },
        "max-days": { type: "string" },
        "max-files": { type: "string" },
        "files-per-activity": { type: "string" },
        "fail-fast": { type: "boolean", default: false },
        id: { type: "string" },
        "no-wait": { type: "boolean", default: false },
        help: { type: "boolean", short: "h" },
      },
    });
    if (values.help) {
      console.log(help);
      return 0;
    }
    if (!values.dataset) throw new ConfigError("--dataset", "missing");
    if (!values.start || !values.end) throw new ConfigError(values.start ? "--end" : "--start", "missing");
    dayRange(values.start, values.end); // bad dates fail here, before anything starts
    const count = (name: string, text: string | undefined): number | undefined => {
      if (text === undefined) return undefined;
      const n = Number(text);
      if (!Number.isInteger(n) || n < 1) throw new ConfigError(name, `expected a positive whole number, got '${text}'`);
      return n;
    };
    const input: BackfillInput = {
      dataset: values.dataset,
      start: values.start,
      end: values.end,
      ...(values["max-days"] ? { maxConcurrentDays: count("--max-days", values["max-days"]) } : {}),
      ...(values["max-files"] ? { maxConcurrentFiles: count("--max-files", values["max-files"]) } : {}),
      ...(values["files-per-activity"] ? { filesPerActivity: count("--files-per-activity", values["files-per-activity"]) } : {}),
      failFast: values["fail-fast"],
    };
    const settings = temporalSettings(values);
    const { client, close } = await connectClient(settings);
    try {
      const workflowId = values.id ?? backfillWorkflowId(input);
      let handle;
      try {
        handle = await client.workflow.start("backfill", {
          taskQueue: settings.taskQueue,
          workflowId,
          args: [input],
          staticSummary: `backfill ${input.dataset} ${input.start}..${input.end}`,
          typedSearchAttributes: [
            { key: datasetKey, value: input.dataset },
            { key: periodKey, value: `${input.start}..${input.end}` },
            { key: levelKey, value: "backfill" },
            { key: statusKey, value: "running" },
          ],
        });
      } catch (error) {
        if (error instanceof WorkflowExecutionAlreadyStartedError) {
          console.error(`${workflowId} is already running; following it`);
          handle = client.workflow.getHandle(workflowId);
        } else throw error;
      }
      console.error(`started ${workflowId} on task queue ${settings.taskQueue}`);
      if (values["no-wait"]) return 0;
      const summary: BackfillSummary = await followBackfill(handle);
      printSummary(summary);
      return summary.days.failed > 0 ? 1 : 0;
    } finally {
      await close();
    }
  },
};
