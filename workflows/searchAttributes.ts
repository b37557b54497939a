import { defineSearchAttributeKey, SearchAttributeType } from "@temporalio/common";

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
export const searchAttributeRegistrations = {
  TkDataset: "Keyword",
  TkPeriod: "Keyword",
  TkLevel: "Keyword",
  TkStatus: "Keyword",
} as const;
