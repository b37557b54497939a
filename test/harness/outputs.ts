import type { Client } from "@temporalio/client";
import type { temporal } from "@temporalio/proto";
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";

/**
 * Every file under a folder, relative path → contents (outputs are compared byte for byte). A
 * missing folder, or one with no file in it, is an error: two comparisons of nothing are equal.
 */
export async function filesUnder(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (folder: string): Promise<void> => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) await walk(path);
      else out.set(relative(root, path), await readFile(path, "utf8"));
    }
  };
  await walk(root);
  if (out.size === 0) throw new Error(`filesUnder: no file under ${root}`);
  return out;
}

export type History = temporal.api.history.v1.IHistory;

/**
 * The texts of a marker's detail payloads (a local activity's marker names its activity type, a
 * patch's marker its id); none for any other event.
 */
export function markerTexts(event: temporal.api.history.v1.IHistoryEvent): string[] {
  return Object.values(event.markerRecordedEventAttributes?.details ?? {}).flatMap((payloads) => (payloads.payloads ?? []).map((p) => Buffer.from(p.data ?? []).toString()));
}

/**
 * The histories of every workflow of a dataset (backfill and all children), by "workflowId#runId".
 * None at all is an error: every check over them would pass on nothing.
 */
export async function datasetHistories(client: Client, dataset: string): Promise<Map<string, History>> {
  const found = new Map<string, History>();
  for await (const execution of client.workflow.list({ query: `TkDataset = '${dataset}'` })) {
    const handle = client.workflow.getHandle(execution.workflowId, execution.runId);
    found.set(`${execution.workflowId}#${execution.runId}`, await handle.fetchHistory());
  }
  if (found.size === 0) throw new Error(`datasetHistories: no workflow of dataset ${dataset}`);
  return found;
}

/**
 * Completed extraction activities in the histories, one entry per file, with whether it really
 * translated (reused: false) or found its staged refs. A file translated twice shows up twice.
 */
export function completedExtractions(all: Map<string, History>): { file: string; reused: boolean }[] {
  const out: { file: string; reused: boolean }[] = [];
  const decode = (data: Uint8Array | null | undefined): unknown => (data ? JSON.parse(Buffer.from(data).toString()) : undefined);
  for (const history of all.values()) {
    const scheduled = new Map<number, { type: string; files: string[] }>();
    for (const event of history.events ?? []) {
      const attrs = event.activityTaskScheduledEventAttributes;
      const type = attrs?.activityType?.name;
      if (type === "extractFile" || type === "extractFiles") {
        const third = decode(attrs!.input?.payloads?.[2]?.data);
        scheduled.set(Number(event.eventId), { type, files: type === "extractFile" ? [third as string] : (third as string[]) });
      }
      const done = event.activityTaskCompletedEventAttributes;
      const what = done && scheduled.get(Number(done.scheduledEventId));
      if (what) {
        const result = decode(done.result?.payloads?.[0]?.data) as { reused: boolean } | { reused: boolean }[];
        const results = Array.isArray(result) ? result : [result];
        what.files.forEach((file, i) => out.push({ file, reused: results[i]!.reused }));
      }
    }
  }
  return out;
}
