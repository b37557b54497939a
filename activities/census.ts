import { listCensusFiles, readCensusSignatures, writeCensusReport } from "../lib/census/census.js";
import type { CensusSteps } from "../lib/census/model/index.js";
import type { DatasetRegistry } from "../lib/datasets/config.js";
import { withTypedFailures } from "./failures.js";
import { withHeartbeats } from "./heartbeat.js";

/** The census's activities: thin calls of lib/census, with heartbeats, typed failures (a corrupt file is non-retryable). */
export function createCensusActivities(registry: DatasetRegistry): CensusSteps {
  return {
    async listCensusFiles(dataset, start, end) {
      return withTypedFailures(() => withHeartbeats(() => listCensusFiles(registry.get(dataset), start, end)));
    },
    async readCensusSignatures(dataset, start, end, listing, indices) {
      let done = 0;
      return withTypedFailures(() =>
        withHeartbeats(() => readCensusSignatures(registry.get(dataset), start, end, listing, indices, { onFile: () => void done++ }), 2000, () => ({ done, of: indices.length })),
      );
    },
    async writeCensusReport(dataset, start, end, facts) {
      return withTypedFailures(() => withHeartbeats(() => writeCensusReport(registry.get(dataset), start, end, facts)));
    },
  };
}
