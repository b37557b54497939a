import { proxyActivities } from "@temporalio/workflow";
import type * as activities from "../activities/index.js";

const { describeWorker } = proxyActivities<typeof activities>({ startToCloseTimeout: "30 seconds" });

/** The smallest real round trip: client → workflow → activity on a worker → back. */
export async function ping(from: string): Promise<string> {
  const worker = await describeWorker();
  return `pong to ${from} from ${worker}`;
}
