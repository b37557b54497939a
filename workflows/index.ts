// Every workflow the worker registers. Workflow code is deterministic: no I/O, no clocks, no randomness.
// The backfill's types carry a version (V3): a change of history shape gets new type names, so a
// worker of new code never replays a run of old code (README, "Upgrading workers").
import type { WorkflowDefinitionOptions } from "@temporalio/common";
import { setWorkflowOptions, workflowInfo } from "@temporalio/workflow";
import { backfillV3 } from "./backfill.js";
import { censusV1 } from "./census.js";
import { liveV1 } from "./live.js";
import { backfillDayV3 } from "./day.js";
import { backfillMonthV3 } from "./month.js";
import { ping } from "./ping.js";
import { updateDataset } from "./update.js";
import { versioningBehaviors } from "./versioning.js";
import { backfillYearV3 } from "./year.js";

export { ping, backfillV3, backfillYearV3, backfillMonthV3, backfillDayV3, updateDataset, censusV1, liveV1 };

// Each type's Worker Versioning behavior (workflows/versioning.ts); it changes no history. Given
// only on a versioned worker (one with a deployment name; an unversioned worker's version has a
// build id and no deployment name): one that names a behavior has every workflow task completion
// refused ("versioning behavior cannot be specified without deployment options"), so the workers
// of the default path name none.
const behavior =
  (name: keyof typeof versioningBehaviors) =>
  (): WorkflowDefinitionOptions =>
    workflowInfo().currentDeploymentVersion?.deploymentName ? { versioningBehavior: versioningBehaviors[name] } : {};
setWorkflowOptions(behavior("ping"), ping);
setWorkflowOptions(behavior("backfillV3"), backfillV3);
setWorkflowOptions(behavior("backfillYearV3"), backfillYearV3);
setWorkflowOptions(behavior("backfillMonthV3"), backfillMonthV3);
setWorkflowOptions(behavior("backfillDayV3"), backfillDayV3);
setWorkflowOptions(behavior("updateDataset"), updateDataset);
setWorkflowOptions(behavior("censusV1"), censusV1);
setWorkflowOptions(behavior("liveV1"), liveV1);
