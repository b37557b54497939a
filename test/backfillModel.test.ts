/**
 * The backfill's domain rules (lib/backfill/model) on their own: no servers, no files; runs in
 * milliseconds (`npx tsx --test test/backfillModel.test.ts`).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  abandonedResults,
  applyReport,
  closedAs,
  closedFailure,
  blockedBy,
  blockedMonth,
  blockedYear,
  daysOfYear,
  firstFailedDay,
  type YearPlan,
  batches,
  extractionPlan,
  listingToCarry,
  MAX_CARRIED_LISTING_CHARS,
  batchLanes,
  boundedSummary,
  MAX_PAYLOAD_BYTES,
  lanesOf,
  newProgressState,
  settledByOutputs,
  unsettledMonths,
  countDays,
  existing,
  extractionLanes,
  failed,
  failureOf,
  isSettled,
  keptResults,
  noFileCounts,
  noFiles,
  partial,
  periodsOfYear,
  progressOf,
  resultText,
  rollupRule,
  statusOf,
  summarize,
  summaryLines,
  withTranslatedBefore,
  written,
  type PeriodResults,
  type ProgressState,
} from "../lib/backfill/model/index.js";
import { planBackfill } from "../lib/backfill/plan.js";
import { checkRangeFitsState } from "../lib/backfill/rangeLimit.js";
import { resolveDatasetSpec } from "../lib/datasets/spec.js";
import { testDataset } from "./harness/archive.js";
import { ConfigError, Hdf5FormatError } from "../lib/errors.js";

const request = { dataset: "ds", start: "2022-01-30", end: "2022-03-01" };

describe("period results", () => {
  test("the seed's text is made from the typed value", () => {
    assert.equal(resultText(written("/out/20220113.json")), "/out/20220113.json");
    assert.equal(resultText(existing("/out/20220113.json")), "existing");
    assert.equal(resultText(noFiles()), "ERROR(NOFILES)");
    assert.equal(resultText(failed("Hdf5FormatError", "a.nc: invalid HDF5 superblock")), "ERROR(Hdf5FormatError): a.nc: invalid HDF5 superblock");
    assert.equal(resultText(partial()), "PARTIAL");
  });

  test("a thrown error becomes a failed result with the same kind an activity failure carries", () => {
    assert.deepEqual(failureOf(new Hdf5FormatError("a.nc", "superblock", "bad signature")), failed("Hdf5FormatError", "a.nc: invalid HDF5 superblock: bad signature"));
    assert.deepEqual(failureOf(new TypeError("x is undefined")), failed("TypeError", "x is undefined"));
    assert.deepEqual(failureOf("just a string"), failed("Error", "just a string"));
  });
});

describe("the plan", () => {
  test("years, months and days of a range, flagged whole only when covered whole", () => {
    const plan = planBackfill("ds", "year", "2021-12-30", "2023-01-01");
    assert.deepEqual(plan.years.map((y) => [y.id, y.whole, y.months.length]), [["2021", false, 1], ["2022", true, 12], ["2023", false, 1]]);
    assert.deepEqual(plan.years[0]!.months[0], { id: "2021-12", whole: false, days: ["2021-12-30", "2021-12-31"] });
    assert.equal(plan.years[1]!.months[1]!.days.length, 28);
    assert.ok(plan.years[1]!.months.every((m) => m.whole));
    assert.deepEqual(planBackfill("ds", "day", "2024-02-28", "2024-03-01").years[0]!.months[0]!.days, ["2024-02-28", "2024-02-29"]);
  });

  test("bad dates fail naming the setting", () => {
    assert.throws(() => planBackfill("ds", "day", "2022-02-30", "2022-03-01"), (e: unknown) => e instanceof ConfigError && /invalid start/.test(e.message));
    assert.throws(() => planBackfill("ds", "day", "2022-03-01", "2022-02-01"), (e: unknown) => e instanceof ConfigError && /invalid end/.test(e.message));
  });

  test("a year's periods, settledness, and what a later pass keeps", () => {
    const plan = planBackfill("ds", "year", "2022-01-30", "2022-02-02");
    const year = plan.years[0]!;
    assert.deepEqual(periodsOfYear(year, "year"), ["2022-01-30", "2022-01-31", "2022-01", "2022-02-01", "2022-02-02", "2022-02", "2022"]);
    assert.deepEqual(periodsOfYear(year, "day"), ["2022-01-30", "2022-01-31", "2022-02-01", "2022-02-02"]);
    const results: PeriodResults = { "2022-01-30": written("a"), "2022-01-31": failed("X", "y"), "2022-02-01": noFiles(), "2022-02-02": existing("b") };
    assert.equal(isSettled(periodsOfYear(year, "day"), results), true);
    assert.equal(isSettled(periodsOfYear(year, "month"), results), false);
    assert.deepEqual(Object.keys(keptResults(results, periodsOfYear(year, "day"))), ["2022-01-30", "2022-02-01", "2022-02-02"]);
  });
});

describe("the rollup rule", () => {
  const days = ["d1", "d2", "d3"];
  test("part of the period: partial, nothing built", () => {
    assert.deepEqual(rollupRule(false, days, { d1: written("1"), d2: written("2"), d3: written("3") }), { result: partial() });
  });
  test("days without files are gaps: built from the others; existing outputs count", () => {
    assert.deepEqual(rollupRule(true, days, { d1: written("1"), d2: noFiles(), d3: existing("3") }), { build: ["d1", "d3"] });
  });
  test("a failed, partial or missing child: failed Incomplete, naming them", () => {
    const decision = rollupRule(true, days, { d1: failed("Hdf5FormatError", "bad"), d2: partial() });
    assert.deepEqual(decision, { result: failed("Incomplete", "3 of 3 inputs missing or failed (d1, d2, d3)") });
  });
  test("no child with files: noFiles", () => {
    assert.deepEqual(rollupRule(true, days, { d1: noFiles(), d2: noFiles(), d3: noFiles() }), { result: noFiles() });
  });
});

describe("status", () => {
  test("completed unless something failed; partial when something else has an output; failed when nothing has", () => {
    assert.equal(statusOf([written("a"), noFiles(), existing("b"), partial()]), "completed");
    assert.equal(statusOf([noFiles()]), "completed");
    assert.equal(statusOf([written("a"), failed("X", "y")]), "partial");
    assert.equal(statusOf([noFiles(), failed("X", "y"), failed("Incomplete", "z")]), "failed");
    assert.equal(statusOf([failed("X", "y")]), "failed");
  });
});

describe("summary and progress agree", () => {
  // A month (February, whole) with a day without files and a failed day, so its rollup is
  // Incomplete; the range's January and March are partial months (rollups PARTIAL).
  const plan = planBackfill("ds", "month", request.start, request.end);
  const days = plan.years.flatMap((y) => y.months.flatMap((m) => m.days));
  const results: PeriodResults = {};
  for (const day of days) results[day] = written(`/out/${day}.json`);
  results["2022-02-14"] = noFiles();
  results["2022-02-20"] = failed("Hdf5FormatError", "bad file");
  results["2022-01-31"] = existing("/out/2022-01-31.json");
  results["2022-01"] = partial();
  results["2022-02"] = failed("Incomplete", "1 of 28 inputs missing or failed (2022-02-20)");
  results["2022-03"] = partial();
  const files = { listed: 58, extracted: 56, reused: 2 };

  test("the summary counts days by outcome (no-files days are not failures) and rollups apart", () => {
    const summary = summarize(request, plan, results, files);
    assert.deepEqual(summary.days, { total: 31, written: 28, existing: 1, noFiles: 1, failed: 1 });
    assert.deepEqual(summary.rollups, { total: 3, written: 0, existing: 0, noFiles: 0, failed: 1, partial: 2 });
    assert.equal(summary.status, "partial");
    assert.equal(summary.report["2022-02-14"], "ERROR(NOFILES)");
    assert.equal(summary.report["2022-02"], "ERROR(Incomplete): 1 of 28 inputs missing or failed (2022-02-20)");
    assert.deepEqual(Object.keys(summary.results), [...Object.keys(summary.results)].sort());
    const lines = summaryLines(summary);
    assert.equal(lines.length, 35);
    assert.equal(lines[0], "2022-01: PARTIAL");
    assert.match(lines.at(-1)!, /^ds 2022-01-30\.\.2022-03-01: partial; 31 days: 28 written, 1 existing, 1 without files, 1 failed; 3 rollups: .*1 failed, 2 partial; files: 58 listed/);
  });

  test("a long range's summary stays within Temporal's payload limit: counts whole, periods without an output kept first", () => {
    // Thirty years of days, each output's URL 100 characters, every 100th day failed.
    const long = planBackfill("ds", "day", "1991-01-01", "2020-12-31");
    const all: PeriodResults = {};
    const url = (period: string) => `s3://an-archive-of-references/${"x".repeat(50)}/${period.replaceAll("-", "")}.json`.padEnd(100, "j");
    for (const year of long.years) for (const month of year.months) month.days.forEach((day, i) => (all[day] = i % 100 === 7 ? failed("Hdf5FormatError", `${day}.nc: invalid HDF5 superblock`) : written(url(day))));
    for (const year of long.years) for (const month of year.months) all[month.id] = written(url(month.id));
    const whole = summarize({ dataset: "ds", start: "1991-01-01", end: "2020-12-31" }, long, all, noFileCounts());
    const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));
    // Unbounded, it is past Temporal's 2 MiB (the workflow would be terminated at its end).
    assert.ok(bytes(whole) > 2 * 1024 * 1024, String(bytes(whole)));
    const bounded = boundedSummary(whole);
    assert.ok(bytes(bounded) <= MAX_PAYLOAD_BYTES, String(bytes(bounded)));
    assert.deepEqual([bounded.status, bounded.days, bounded.rollups, bounded.files], [whole.status, whole.days, whole.rollups, whole.files]);
    const failedDays = Object.keys(whole.results).filter((p) => whole.results[p]!.outcome === "failed");
    assert.ok(failedDays.length > 100 && failedDays.every((p) => bounded.results[p] !== undefined && bounded.report[p] === whole.report[p]), "every failed period kept");
    assert.equal(Object.keys(bounded.results).length + bounded.leftOut!, Object.keys(whole.results).length);
    assert.deepEqual(Object.keys(bounded.report), Object.keys(bounded.results));
    assert.deepEqual(Object.keys(bounded.results), [...Object.keys(bounded.results)].sort());
    assert.ok(bounded.leftOut! > 0 && Object.keys(bounded.results).length > failedDays.length, "left out only what did not fit");
    assert.match(summaryLines(bounded).at(-1)!, new RegExp(`^\\(${bounded.leftOut} periods left out above`));
    // A summary that fits is returned as it is.
    const short = summarize(request, plan, results, files);
    assert.equal(boundedSummary(short), short);
  });

  test("a range whose results would not fit in the backfill's state is refused up front; a decade of days fits", async () => {
    // Output URLs of about 100 characters: s3://<bucket>/<60 characters>/refs/AHI-L2-FLDK-SST/<day>.json.
    const base = testDataset("ds", { kind: "local", path: "/none" }, { kind: "s3", bucket: "a-bucket" }, "month");
    const spec = resolveDatasetSpec({ ...base, output: { ...base.output, prefix: "x".repeat(60) } });
    const range = (start: string, end: string) => planBackfill("ds", "month", start, end);
    await checkRangeFitsState(spec, range("2013-01-01", "2022-12-31"), "2013-01-01", "2022-12-31");
    const refused = await checkRangeFitsState(spec, range("1961-01-01", "2020-12-31"), "1961-01-01", "2020-12-31").then(() => undefined, (e: unknown) => e);
    assert.ok(refused instanceof ConfigError, String(refused));
    const years = Number(/at most (\d+) years/.exec(refused.message)?.[1]);
    // The advice holds: a range of that many years fits, one of a few more does not.
    await checkRangeFitsState(spec, range("1961-01-01", `${1960 + years}-12-31`), "1961-01-01", `${1960 + years}-12-31`);
    const longer = `${1960 + years + 3}-12-31`;
    assert.ok(await checkRangeFitsState(spec, range("1961-01-01", longer), "1961-01-01", longer).then(() => false, (e: unknown) => e instanceof ConfigError));
    assert.ok(MAX_PAYLOAD_BYTES < 2 * 1024 * 1024);
  });

  test("a range whose only trouble is a day without files is completed", () => {
    const clean = { ...results, "2022-02-20": written("/out/x.json"), "2022-02": written("/out/202202.json") };
    assert.equal(summarize(request, plan, clean, files).status, "completed");
  });

  test("the progress query counts what the summary counts, from the months' sampled reports, across continue-as-new", () => {
    let state: ProgressState = newProgressState();
    // February reports twice (days started; then what ended), the other months once each.
    const february = days.filter((d) => d.startsWith("2022-02"));
    applyReport(state, { period: "2022-02", results: {}, files: noFileCounts(), running: february.slice(0, 4) });
    assert.deepEqual(progressOf(request, days, state, "running").running, february.slice(0, 4));
    const ended = (subset: string[]) => Object.fromEntries(subset.map((d) => [d, results[d]!]));
    const filesOf = (subset: string[]) => ({ listed: subset.filter((d) => results[d]!.outcome !== "noFiles" && results[d]!.outcome !== "existing").length * 2, extracted: 0, reused: 0 });
    applyReport(state, { period: "2022-02", results: ended(february.slice(0, 10)), files: filesOf(february.slice(0, 10)), running: february.slice(10, 14) });
    // Continue-as-new carries the state as plain data: nothing is lost or counted twice.
    state = JSON.parse(JSON.stringify(state)) as ProgressState;
    applyReport(state, { period: "2022-02", results: ended(february.slice(10)), files: filesOf(february.slice(10)), running: [] });
    for (const month of ["2022-01", "2022-03"]) {
      const own = days.filter((d) => d.startsWith(month));
      applyReport(state, { period: month, results: ended(own), files: filesOf(own), running: [] });
    }
    const progress = progressOf(request, days, state, "partial");
    const summary = summarize(request, plan, results, files);
    assert.deepEqual(
      [progress.daysTotal, progress.daysWritten, progress.daysExisting, progress.daysNoFiles, progress.daysFailed],
      [summary.days.total, summary.days.written, summary.days.existing, summary.days.noFiles, summary.days.failed],
    );
    assert.equal(progress.daysDone, 31);
    assert.deepEqual([progress.filesListed, progress.filesDone, progress.running], [58, 58, []]);
    assert.deepEqual(countDays(days, state.results), summary.days);
  });
});

describe("periods that ended without telling their results (terminated, cancelled, failed)", () => {
  const january = planBackfill("ds", "month", "2022-01-01", "2022-01-31").years[0]!;
  const terminated = closedFailure("ds/2022", "Terminated");

  test("what is known stays, what the outputs show is kept, every other period gets the failure; nothing is left out", () => {
    const known: PeriodResults = { "2022-01-01": written("/out/20220101.json"), "2022-01-02": noFiles(), "2022-01-03": failed("Hdf5FormatError", "bad") };
    const settled = settledByOutputs(january, "month", { "2022-01-01": "/out/20220101.json", "2022-01-04": "/out/20220104.json" });
    const results = abandonedResults(periodsOfYear(january, "month"), known, settled, terminated);
    assert.equal(results["2022-01-01"], undefined, "known results are not replaced");
    assert.equal(results["2022-01-03"], undefined, "a known failure keeps its own kind");
    assert.deepEqual(results["2022-01-04"], existing("/out/20220104.json"), "written before the end: its output is found");
    assert.deepEqual(results["2022-01-05"], terminated);
    assert.deepEqual(results["2022-01"], terminated, "the rollup not built");
    assert.ok(isSettled(periodsOfYear(january, "month"), { ...known, ...results }), "every period has a result: none looks as if it runs");
    assert.match(resultText(terminated), /^ERROR\(Terminated\): ds\/2022 was terminated; a re-run redoes/);
  });

  test("the server's statuses as kinds; a run still going (reset, continued as new) is not closed", () => {
    assert.deepEqual(["TERMINATED", "CANCELLED", "TIMED_OUT", "FAILED", "COMPLETED", "RUNNING", "CONTINUED_AS_NEW"].map(closedAs), ["Terminated", "Cancelled", "TimedOut", "Failed", "Completed", undefined, undefined]);
    assert.equal(closedFailure("ds/2022", "Completed").kind, "Incomplete");
  });

  test("a report never turns an output into a failure; a year's end clears its months' running days", () => {
    const state = newProgressState();
    state.yearsRunning["2022"] = "ds/2022";
    applyReport(state, { period: "2022-01", results: { "2022-01-01": written("/out/a.json") }, files: noFileCounts(), running: ["2022-01-02", "2022-01-03"] });
    applyReport(state, { period: "2022-01", results: { "2022-01-01": terminated, "2022-01-02": failed("X", "x") }, files: noFileCounts(), running: ["2022-01-03"] });
    assert.deepEqual(state.results["2022-01-01"], written("/out/a.json"));
    applyReport(state, { period: "2022-01", results: { "2022-01-02": existing("/out/b.json") }, files: noFileCounts(), running: ["2022-01-03"] });
    assert.deepEqual(state.results["2022-01-02"], existing("/out/b.json"), "a failure may be replaced (a retry)");
    assert.deepEqual(progressOf(request, january.months[0]!.days, state, "running").running, ["2022-01-03"]);
    applyReport(state, { period: "2022", results: {}, files: noFileCounts(), running: [], ended: terminated });
    assert.deepEqual(state.yearsRunning, {});
    assert.deepEqual(progressOf(request, january.months[0]!.days, state, "running").running, [], "nothing of an ended year runs");
  });
});

describe("skipping finished periods from the top", () => {
  const year = (aggregation: "day" | "month" | "year", start = "2022-01-01", end = "2022-12-31") => planBackfill("ds", aggregation, start, end).years[0]!;
  const outputs = (periods: string[]): Record<string, string> => Object.fromEntries(periods.map((p) => [p, `/out/${p}.json`]));

  test("an existing year output settles every period of the year: days without an output had no files", () => {
    const whole = year("year");
    const found = outputs(["2022", ...whole.months.map((m) => m.id), ...whole.months.flatMap((m) => m.days).filter((d) => d !== "2022-02-14")]);
    const settled = settledByOutputs(whole, "year", found);
    assert.deepEqual(Object.keys(settled).sort(), periodsOfYear(whole, "year").sort());
    assert.deepEqual(settled["2022"], existing("/out/2022.json"));
    assert.deepEqual(settled["2022-02-14"], noFiles());
    assert.deepEqual(unsettledMonths(whole, "year", settled), []);
    // A month whose days all had no files has no output either: noFiles, by the rollup rule.
    const march = new Set(["2022-03", ...whole.months[2]!.days]);
    const gap = settledByOutputs(whole, "year", Object.fromEntries(Object.entries(found).filter(([period]) => !march.has(period))));
    assert.deepEqual(gap["2022-03"], noFiles());
    assert.deepEqual(gap["2022-03-31"], noFiles());
  });

  test("day-only aggregation: existing days are settled, the others visited; a month rollup settles its days", () => {
    const whole = year("day");
    const settled = settledByOutputs(whole, "day", outputs(["2022-01-01", "2022-01-02"]));
    assert.deepEqual(Object.keys(settled), ["2022-01-01", "2022-01-02"]);
    assert.equal(unsettledMonths(whole, "day", settled).length, 12);
    const monthly = settledByOutputs(year("month"), "month", outputs(["2022-01", "2022-01-05"]));
    assert.deepEqual(monthly["2022-01-05"], existing("/out/2022-01-05.json"));
    assert.deepEqual(monthly["2022-01-06"], noFiles());
    assert.deepEqual(monthly["2022-01"], existing("/out/2022-01.json"));
    assert.equal(monthly["2022-02-01"], undefined);
  });

  test("a range over part of a period: its rollup is partial once its children are settled; one that would be built is visited", () => {
    const part = year("month", "2022-01-30", "2022-03-01");
    const settled = settledByOutputs(part, "month", outputs(["2022-01-30", "2022-01-31", "2022-02", "2022-03-01"]));
    assert.deepEqual(settled["2022-01"], partial());
    assert.deepEqual(settled["2022-03"], partial());
    assert.deepEqual(settled["2022-02"], existing("/out/2022-02.json"));
    assert.deepEqual(unsettledMonths(part, "month", settled), []);
    // Every day there, no month output: the rollup must be built, so the month is visited.
    const days = settledByOutputs(part, "month", outputs(part.months[1]!.days));
    assert.equal(days["2022-02"], undefined);
    assert.deepEqual(unsettledMonths(part, "month", days).map((m) => m.id), ["2022-01", "2022-02", "2022-03"]);
  });
});

describe("lanes", () => {
  const range = (start: string, end: string) => planBackfill("ds", "day", start, end);
  test("maxConcurrentDays spread over a month's days, then months, then years, never above it", () => {
    const year = range("2022-01-01", "2022-12-31");
    assert.deepEqual(lanesOf(4, year), { years: 1, monthsPerYear: 1, daysPerMonth: 4 });
    assert.deepEqual(lanesOf(64, year), { years: 1, monthsPerYear: 3, daysPerMonth: 21 });
    assert.deepEqual(lanesOf(200, year), { years: 1, monthsPerYear: 7, daysPerMonth: 28 });
    assert.deepEqual(lanesOf(500, range("2013-01-01", "2022-12-31")), { years: 2, monthsPerYear: 8, daysPerMonth: 29 });
    // A range of one month gets all of it (up to 31); two months across a new year run side by side.
    assert.deepEqual(lanesOf(64, range("2022-01-01", "2022-01-31")), { years: 1, monthsPerYear: 1, daysPerMonth: 31 });
    assert.deepEqual(lanesOf(64, range("2021-12-15", "2022-01-15")), { years: 2, monthsPerYear: 1, daysPerMonth: 31 });
    for (const plan of [year, range("2013-01-01", "2022-12-31"), range("2022-01-30", "2022-03-01"), range("2022-06-01", "2022-06-03")]) {
      for (const days of [1, 2, 3, 16, 31, 32, 62, 63, 100, 372, 373, 500, 1000, 5000]) {
        const lanes = lanesOf(days, plan);
        const at = `${days} over ${plan.years[0]!.months[0]!.days[0]}: ${JSON.stringify(lanes)}`;
        assert.ok(lanes.years * lanes.monthsPerYear * lanes.daysPerMonth <= days, at);
        assert.ok(lanes.years >= 1 && lanes.monthsPerYear >= 1 && lanes.daysPerMonth >= 1 && lanes.daysPerMonth <= 31 && lanes.monthsPerYear <= 12, at);
      }
    }
  });
  test("a month's batches of small days share its lanes: as many batches at once as before, their days side by side, never above the lanes", () => {
    // A month of 31 pending days over 31 lanes: 4 batches at once, each every day of its 8 at once.
    assert.deepEqual(batchLanes(31, 8, 31), { batchesAtOnce: 4, daysAtOnce: 8 });
    // Fewer lanes than days: an equal share each (4 batches x 2 days of 10 lanes).
    assert.deepEqual(batchLanes(31, 8, 10), { batchesAtOnce: 4, daysAtOnce: 2 });
    assert.deepEqual(batchLanes(31, 8, 3), { batchesAtOnce: 3, daysAtOnce: 1 });
    assert.deepEqual(batchLanes(5, 8, 1), { batchesAtOnce: 1, daysAtOnce: 1 });
    for (const days of [1, 2, 7, 8, 9, 16, 17, 28, 31]) {
      for (const lanes of [1, 2, 3, 4, 5, 7, 8, 9, 10, 16, 21, 29, 31]) {
        const { batchesAtOnce, daysAtOnce } = batchLanes(days, 8, lanes);
        const at = `${days} days over ${lanes} lanes: ${batchesAtOnce} x ${daysAtOnce}`;
        // Days under way at once: the batches running, each at most daysAtOnce of its days.
        const batchSizes = Array.from({ length: Math.ceil(days / 8) }, (_, i) => Math.min(8, days - 8 * i));
        const underWay = [...batchSizes].sort((a, b) => b - a).slice(0, batchesAtOnce).reduce((n, size) => n + Math.min(size, daysAtOnce), 0);
        assert.ok(underWay <= lanes, at);
        assert.equal(batchesAtOnce, Math.min(batchSizes.length, lanes), at);
        assert.ok(daysAtOnce >= 1, at);
      }
    }
  });
});

describe("Icechunk output: calendar order", () => {
  const plan = (start: string, end: string) => planBackfill("ds", "day", start, end, "icechunk");
  test("one year and one month at a time, a month's days side by side (up to 31); tags as the months' and years' results", () => {
    assert.deepEqual(lanesOf(500, plan("2013-01-01", "2022-12-31")), { years: 1, monthsPerYear: 1, daysPerMonth: 31 });
    assert.deepEqual(lanesOf(4, plan("2022-01-01", "2022-12-31")), { years: 1, monthsPerYear: 1, daysPerMonth: 4 });
    assert.equal(plan("2022-01-01", "2022-01-02").aggregation, "year");
    assert.equal(planBackfill("ds", "day", "2022-01-01", "2022-01-02").aggregation, "day");
  });
  test("a failed day blocks every later day; a later month's and year's tags follow the rollup rule", () => {
    const p = plan("2022-12-30", "2023-12-31");
    const [y2022, y2023] = p.years as [YearPlan, YearPlan];
    assert.equal(firstFailedDay(daysOfYear(y2022), { "2022-12-30": existing("s@1"), "2022-12-31": failed("IcechunkError", "out-of-order: ...") }), "2022-12-31");
    const blocked = blockedYear(y2023, { "2023-01-01": existing("s@2") }, "2022-12-31");
    assert.equal(blocked["2023-01-01"], undefined, "a result already known stays");
    assert.deepEqual(blocked["2023-01-02"], blockedBy("2022-12-31"));
    assert.equal(blocked["2023-01-02"]!.outcome === "failed" && blocked["2023-01-02"]!.kind, "BlockedByEarlierDay");
    assert.equal(blocked["2023-01"]!.outcome === "failed" && blocked["2023-01"]!.kind, "Incomplete");
    assert.equal(blocked["2023"]!.outcome === "failed" && blocked["2023"]!.kind, "Incomplete");
    assert.deepEqual(blockedMonth(y2022.months[0]!, {}, "2022-12-01")["2022-12"], partial(), "a month covered in part: no tag");
    assert.equal(Object.keys(blocked).length, 365 - 1 + 12 + 1);
  });
});

describe("extraction", () => {
  test("by default a day's files spread over min(files, maxConcurrentFiles) activities of consecutive files", () => {
    const hours = Array.from({ length: 24 }, (_, i) => i);
    assert.deepEqual(extractionPlan(hours, 4).batches.map((b) => b.length), [6, 6, 6, 6]);
    assert.deepEqual(extractionPlan(hours, 4).batches.flat(), hours);
    assert.deepEqual(extractionPlan(hours.slice(0, 2), 4), { batches: [[0], [1]], activities: 2, filesAtOnce: 1 });
    assert.deepEqual(extractionPlan(hours.slice(0, 5), 2).batches, [[0, 1], [2, 3, 4]]);
    assert.deepEqual(extractionPlan([], 4).batches, []);
    // An explicit batch size: the lanes below.
    assert.deepEqual(extractionPlan(hours, 8, 24), { batches: [hours], activities: 1, filesAtOnce: 8 });
    assert.deepEqual(extractionPlan(hours.slice(0, 3), 4, 1), { batches: [[0], [1], [2]], activities: 4, filesAtOnce: 1 });
  });

  test("a day's listing goes from its batch of small days to its day workflow only while it is short", () => {
    const hourly = Array.from({ length: 24 }, (_, h) => `AHI-L2-FLDK-SST/2022/01/13/${String(h).padStart(2, "0")}00/20220113${String(h).padStart(2, "0")}0000-NCCF-L3C_GHRSST-SSTsubskin-AHI_H08-ACSPO_V2.80-v02.0-fv01.0.nc`);
    assert.deepEqual(listingToCarry(hourly), hourly);
    assert.notEqual(listingToCarry(hourly), hourly, "a copy, not the caller's array");
    const key = "k".repeat(128);
    const fits = Array.from({ length: MAX_CARRIED_LISTING_CHARS / key.length }, () => key);
    assert.equal(fits.join("").length, MAX_CARRIED_LISTING_CHARS);
    assert.deepEqual(listingToCarry(fits), fits, "exactly the bound");
    assert.equal(listingToCarry([...fits, "k"]), undefined, "one character over");
    assert.deepEqual(listingToCarry([]), []);
  });

  test("never more than maxConcurrentFiles files at once, however they are batched", () => {
    for (const maxFiles of [1, 2, 3, 4, 8, 16]) {
      for (const perActivity of [1, 2, 3, 4, 24]) {
        const lanes = extractionLanes(maxFiles, perActivity);
        assert.ok(lanes.activities * lanes.filesAtOnce <= maxFiles, `${maxFiles} files, ${perActivity} per activity: ${JSON.stringify(lanes)}`);
        assert.ok(lanes.activities >= 1 && lanes.filesAtOnce >= 1);
      }
    }
    assert.deepEqual(extractionLanes(4, 1), { activities: 4, filesAtOnce: 1 });
    assert.deepEqual(extractionLanes(4, 2), { activities: 2, filesAtOnce: 2 });
    assert.deepEqual(extractionLanes(8, 24), { activities: 1, filesAtOnce: 8 });
  });

  test("batches keep order and size", () => {
    assert.deepEqual(batches([1, 2, 3, 4, 5], 2), [[1, 2], [3, 4], [5]]);
    assert.deepEqual(batches([1, 2], 24), [[1, 2]]);
    assert.deepEqual(batches([], 3), []);
  });

  test("a day handed over by a batch of small days: the files the batch translated count as translated once", () => {
    // The day workflow found 2 of its 3 files staged; the batch had translated 1 of them.
    assert.deepEqual(withTranslatedBefore({ listed: 3, extracted: 1, reused: 2 }, 1), { listed: 3, extracted: 2, reused: 1 });
    // Never more than the day workflow found staged (staging removed in between), never negative.
    assert.deepEqual(withTranslatedBefore({ listed: 2, extracted: 2, reused: 0 }, 2), { listed: 2, extracted: 2, reused: 0 });
    assert.deepEqual(withTranslatedBefore({ listed: 2, extracted: 0, reused: 2 }, -1), { listed: 2, extracted: 0, reused: 2 });
  });
});
