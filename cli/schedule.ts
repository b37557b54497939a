import { ScheduleAlreadyRunning, ScheduleOverlapPolicy } from "@temporalio/client";
import { optional, text, whole } from "../lib/settings/schema.js";
import { updateDataset, type UpdateInput } from "../workflows/update.js";
import { onOff, parseCommandLine } from "./args.js";
import { connectClient, temporalOptions, temporalOptionsHelp, temporalSettings } from "./connection.js";

const help = `usage: temporal-kerchunk schedule --dataset NAME [--every 1h] [--lag-hours 3] [--lookback-days 0]
         [--catchup-window 7d] [--id SCHEDULE_ID] [--trigger] [--delete]
         [--address host:port] [--namespace ns] [--task-queue q]

Creates a Temporal Schedule that keeps a dataset current: every --every it runs 'updateDataset',
which builds each complete new day (and a month/year rollup when its period completes). Missed runs
within --catchup-window are caught up after an outage; overlapping runs are skipped.
--trigger runs it once now; --delete removes it. See it under Schedules in the Web UI.
${temporalOptionsHelp}`;

const duration = (fallback: string) => optional(text({ pattern: /^\d+(ms|s|m|h|d)$/, expected: "a duration like 1h, 30m or 7d" }), fallback);

export const scheduleCommand = {
  summary: "create a Temporal Schedule that keeps a dataset current",
  async run(args: string[]): Promise<number> {
    const line = parseCommandLine("schedule", args, {
      ...temporalOptions,
      dataset: text({ nonEmpty: true }),
      every: duration("1h"),
      "lag-hours": optional(whole(), 3),
      "lookback-days": optional(whole(), 0),
      "catchup-window": duration("7d"),
      id: optional(text({ nonEmpty: true })),
      trigger: onOff(),
      delete: onOff(),
    });
    if (line.help) {
      console.log(help);
      return 0;
    }
    const { values } = line;
    const input: UpdateInput = {
      dataset: values.dataset,
      lagHours: values["lag-hours"],
      lookbackDays: values["lookback-days"],
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
