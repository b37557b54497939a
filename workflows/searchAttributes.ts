import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributePair } from "@temporalio/common";
import type { PeriodStatus } from "./types.js";

/**
 * Custom search attributes our workflows set, so the Web UI and `temporal workflow list --query`
 * can find a dataset's runs. They must be registered on the cluster (our dev server does it at
 * start-up; on a real cluster: `temporal operator search-attribute create`, see the README).
 */
export const datasetKey = defineSearchAttributeKey("TkDataset", SearchAttributeType.KEYWORD);
export const periodKey = defineSearchAttributeKey("TkPeriod", SearchAttributeType.KEYWORD);
export const levelKey = defineSearchAttributeKey("TkLevel", SearchAttributeType.KEYWORD);
export const statusKey = defineSearchAttributeKey("TkStatus", SearchAttributeType.KEYWORD);

/** Name to type, in the form `temporal server start-dev --search-attribute` takes. */
export const searchAttributeRegistrations: Record<string, "Keyword"> = Object.fromEntries(
  [datasetKey, periodKey, levelKey, statusKey].map((key) => [key.name, "Keyword"]),
);

export type Level = "backfill" | "year" | "month" | "day" | "census" | "live";

/** The four attributes of one workflow: its dataset, its period ("2022-01-13", or "start..end" for a backfill), its level, its status. */
export function searchAttributesOf(dataset: string, period: string, level: Level, status: PeriodStatus = "running"): SearchAttributePair[] {
  return [
    { key: datasetKey, value: dataset },
    { key: periodKey, value: period },
    { key: levelKey, value: level },
    { key: statusKey, value: status },
  ];
}
