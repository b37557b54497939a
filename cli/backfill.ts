import { dayRange } from "../lib/calendar/periods.js";
import { optional, text, whole } from "../lib/settings/schema.js";
import { backfillOptions } from "../workflows/options.js";
import type { BackfillInput } from "../workflows/types.js";
import { onOff, parseCommandLine } from "./args.js";
import { connectClient, temporalOptions, temporalSettings } from "./connection.js";
import { followBackfill, printSummary, startOrFollow } from "./progress.js";

const help = `usage: temporal-kerchunk backfill --dataset NAME --start YYYY-MM-DD --end YYYY-MM-DD
         [--max-days N] [--max-files N] [--files-per-activity N] [--small-day-files N] [--fail-fast] [--census] [--id WORKFLOW_ID] [--no-wait]
         [--address host:port] [--namespace ns] [--task-queue q]

Starts the backfill workflow (a worker must be running: 'temporal-kerchunk worker'), then follows
its progress and prints the result per period, as 'temporal workflow start --type backfillV3' would
without the progress bar, and the status (exit code 1 unless completed). Re-running a range skips
every day whose output exists; a range whose backfill is running already is followed, not started
again (a line says so). --census takes a census of the range once the days are done (the
census command's sampled search, reading the day outputs just written) and prints its eras.`;

export const backfillCommand = {
  summary: "start (and follow) a backfill over a date range",
  async run(args: string[]): Promise<number> {
    const line = parseCommandLine("backfill", args, {
      ...temporalOptions,
      dataset: text({ nonEmpty: true }),
      start: text(),
      end: text(),
      "max-days": optional(whole({ min: 1 })),
      "max-files": optional(whole({ min: 1 })),
      "files-per-activity": optional(whole({ min: 1 })),
      "small-day-files": optional(whole({ min: 0 })),
      "fail-fast": onOff(),
      census: onOff(),
      id: optional(text({ nonEmpty: true })),
      "no-wait": onOff(),
    });
    if (line.help) {
      console.log(help);
      return 0;
    }
    const { values } = line;
    dayRange(values.start, values.end); // bad dates fail here, before anything starts
    const input: BackfillInput = {
      dataset: values.dataset,
      start: values.start,
      end: values.end,
      ...(values["max-days"] ? { maxConcurrentDays: values["max-days"] } : {}),
      ...(values["max-files"] ? { maxConcurrentFiles: values["max-files"] } : {}),
      ...(values["files-per-activity"] ? { filesPerActivity: values["files-per-activity"] } : {}),
      ...(values["small-day-files"] !== undefined ? { smallDayFiles: values["small-day-files"] } : {}),
      failFast: values["fail-fast"],
      ...(values.census ? { census: true } : {}),
    };
    const settings = temporalSettings(values);
    const { client, close } = await connectClient(settings);
    try {
      const options = backfillOptions(input, values.id);
      const { workflowId } = options;
      const { handle, runningSince } = await startOrFollow(client, { ...options, taskQueue: settings.taskQueue });
      if (runningSince) console.error(`${workflowId} is running already (since ${runningSince.toISOString()}): following it`);
      else console.error(`started ${workflowId} on task queue ${settings.taskQueue}`);
      if (values["no-wait"]) return 0;
      const summary = await followBackfill(handle);
      printSummary(summary);
      return summary.status === "completed" ? 0 : 1;
    } finally {
      await close();
    }
  },
};
