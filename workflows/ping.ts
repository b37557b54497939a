import { proxyActivities } from "@temporalio/workflow";

/** The activity `ping` calls (activities/worker.ts): which worker process ran it. */
interface PingActivities {
  describeWorker(): Promise<string>;
}

const { describeWorker } = proxyActivities<PingActivities>({ startToCloseTimeout: "30 seconds" });

/** The smallest real round trip: client → workflow → activity on a worker → back. */
export async function ping(from: string): Promise<string> {
  const worker = await describeWorker();
  return `pong to ${from} from ${worker}`;
}
