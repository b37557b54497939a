import { ScheduleAlreadyRunning, ScheduleOverlapPolicy } from "@temporalio/client";
import { parseArgs } from "node:util";
import { ConfigError } from "../lib/errors.js";
import { updateDataset, type UpdateInput } from "../workflows/update.js";
import { connectClient, temporalOptions, temporalSettings } from "./connection.js";

const help = `usage: temporal-kerchunk schedule --dataset NAME [--every 1h] [--lag-hours 3] [--lookback-days 0]
         [--catchup-window 7d] [--id SCHEDULE_ID] [--trigger] [--delete]
         [--address host:port] [--namespace ns] [--task-queue q]

Creates a Temporal Schedule that keeps a dataset current: every --every it runs 'updateDataset',
which builds each complete new day (and a month/year rollup when its period completes). Missed runs
within --catchup-window are caught up after an outage; overlapping runs are skipped.
--trigger runs it once now; --delete removes it. See it under Schedules in the Web UI.`;

const DURATION = /^\d+(ms|s|m|h|d)$/;

export const scheduleCommand = {
  summary: "create a Temporal Schedule that keeps a dataset current",
  async run(args: string[]): Promise<number> {
    const { values } = parseArgs({
      args,
      options: {
        ...temporalOptions,
        dataset: { type: "string" },
        every: { type: "string", default: "1h" },
        "lag-hours": { type: "string", default: "3" },
        "lookback-days": { type: "string", default: "0" },
        "catchup-window": { type: "string", default: "7d" },
        id: { type: "string" },
        trigger: { type: "boolean", default: false },
        delete: { type: "boolean", default: false },
        help: { type: "boolean", short: "h" },
      },
    });
    if (values.help) {
      console.log(help);
      return 0;
    }
    if (!values.dataset) throw new ConfigError("--dataset", "missing");
    for (const name of ["every", "catchup-window"] as const) {
      if (!DURATION.test(values[name])) throw new ConfigError(`--${name}`, `expected a duration like 1h, 30m or 7d, got '${values[name]}'`);
    }
    const number = (name: string, text: string): number => {
      const n = Number(text);
      if (!Number.isInteger(n) || n < 0) throw new ConfigError(name, `expected a whole number >= 0, got '${text}'`);
      return n;
    };
    const input: UpdateInput = {
      dataset: values.dataset,
      lagHours: number("--lag-hours", values["lag-hours"]),
      lookbackDays: number("--lookback-days", values["lookback-days"]),
    };
    const settings = temporalSettings(values);
    const scheduleId = values.id ?? `${values.dataset}/update`;
    const { client, close } = await connectClient(settings);
    try {
      if (values.delete) {
        await client.schedule.getHandle(scheduleId).delete();
        console.log(`deleted schedule ${scheduleId}`);
        return 0;
      }
      let handle;
      try {
        handle = await client.schedule.create({
          scheduleId,
          spec: { intervals: [{ every: values.every as `${number}h` }] },
          action: {
            type: "startWorkflow",
            workflowType: updateDataset,
            args: [input],
            taskQueue: settings.taskQueue,
            workflowId: `${values.dataset}/update`,
          },
          policies: { catchupWindow: values["catchup-window"] as `${number}d`, overlap: ScheduleOverlapPolicy.SKIP },
          memo: { dataset: values.dataset },
        });
        console.log(`created schedule ${scheduleId}: every ${values.every}, lag ${input.lagHours} h, catch-up window ${values["catchup-window"]}`);
      } catch (error) {
        if (!(error instanceof ScheduleAlreadyRunning)) throw error;
        handle = client.schedule.getHandle(scheduleId);
        console.log(`schedule ${scheduleId} exists already`);
      }
      if (values.trigger) {
        await handle.trigger();
        console.log(`triggered ${scheduleId}`);
      }
      return 0;
    } finally {
      await close();
    }
  },
};
