import { proxyActivities } from "@temporalio/workflow";
import type { describeWorker as describeWorkerActivity } from "../activities/worker.js";

const { describeWorker } = proxyActivities<{ describeWorker: typeof describeWorkerActivity }>({ startToCloseTimeout: "30 seconds" });

/** The smallest real round trip: client → workflow → activity on a worker → back. */
export async function ping(from: string): Promise<string> {
  const worker = await describeWorker();
  return `pong to ${from} from ${worker}`;
}
