// Trivial workflows for bench/temporal/primitives.ts: what one Temporal primitive costs on this machine.
import { executeChild, proxyActivities, proxyLocalActivities } from "@temporalio/workflow";

interface Noop {
  noop(): Promise<number>;
}
const regular = proxyActivities<Noop>({ startToCloseTimeout: "1 minute" });
const local = proxyLocalActivities<Noop>({ startToCloseTimeout: "1 minute" });

async function bounded(n: number, limit: number, work: () => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, n) }, async () => {
      while (next < n) {
        next++;
        await work();
      }
    }),
  );
}

export async function noopChild(): Promise<number> {
  return 1;
}

export async function manyActivities(n: number, limit: number): Promise<void> {
  await bounded(n, limit, () => regular.noop());
}

export async function manyLocalActivities(n: number, limit: number): Promise<void> {
  await bounded(n, limit, () => local.noop());
}

export async function manyChildren(n: number, limit: number): Promise<void> {
  let i = 0;
  await bounded(n, limit, () => executeChild(noopChild, { workflowId: `child-${i++}-${Math.random()}` }));
}
