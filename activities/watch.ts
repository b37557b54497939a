import { Context } from "@temporalio/activity";
import { WorkflowNotFoundError } from "@temporalio/common";
import type { WatchSteps } from "../lib/backfill/model/steps.js";

/**
 * The backfill's watch over its years (workflows/watch.ts): each id's latest run, described with
 * the worker's own client (same namespace). Describing by id alone follows a reset or a
 * continue-as-new to the run that is current.
 */
export const watchActivities: WatchSteps = {
  async closedWorkflows(workflowIds) {
    const { client } = Context.current();
    const closed: Record<string, string> = {};
    await Promise.all(
      workflowIds.map(async (id) => {
        try {
          const { status } = await client.workflow.getHandle(id).describe();
          if (status.name !== "RUNNING") closed[id] = status.name;
        } catch (error) {
          // Gone from the server (retention ended): nothing to wait for, and nothing it can still tell.
          if (error instanceof WorkflowNotFoundError) closed[id] = "TERMINATED";
          else throw error;
        }
      }),
    );
    return closed;
  },
};
