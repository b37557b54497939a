import { commitLiveDays } from "../lib/live/commit.js";
import { extractLiveDay } from "../lib/live/extract.js";
import type { LiveSteps } from "../lib/live/model/steps.js";
import { surveyLive } from "../lib/live/survey.js";
import type { DatasetRegistry } from "../lib/datasets/config.js";
import { withTypedFailures } from "./failures.js";
import { withHeartbeats } from "./heartbeat.js";

/** The live workflow's activities (workflows/live.ts): thin wrappers of lib/live, typed failures, heartbeats on the long ones. */
export function createLiveActivities(registry: DatasetRegistry): LiveSteps {
  return {
    liveSurvey: (dataset, days, arrivals) => withTypedFailures(() => surveyLive(registry.get(dataset), days, arrivals)),
    liveExtract: (dataset, day) => withTypedFailures(() => withHeartbeats((signal) => extractLiveDay(registry.get(dataset), day, signal))),
    liveCommit: (dataset, days) => withTypedFailures(() => withHeartbeats(() => commitLiveDays(registry.get(dataset), days))),
  };
}
