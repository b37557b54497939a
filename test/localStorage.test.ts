/**
 * Local storage's temporary files (lib/storage/local.ts): a writer SIGKILLed mid-write leaves
 * `<key>.tmp-*`, which a later listing removes; a live writer's (a real process stopped mid-write)
 * is never removed, and its write completes when it resumes. Names from another host wait for the
 * age bound; names in the earlier format, or not ours, are never removed.
 */
import assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { promisify } from "node:util";
import { mkdir, readdir, readFile, stat, utimes, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { after, describe, test } from "node:test";
import { isStaleTemporary, LocalStorage } from "../lib/storage/local.js";
import { processExists, repositoryRoot, sleep } from "../lib/servers/process.js";
import { testDir } from "./harness/env.js";

const BYTES = 192 * 1024 * 1024;

async function keysOf(storage: LocalStorage, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of storage.list(prefix)) keys.push(object.key);
  return keys;
}

const temporaries = async (folder: string): Promise<string[]> => (await readdir(folder).catch(() => [] as string[])).filter((name) => name.includes(".tmp-"));

/** A process writing BYTES to `key` through LocalStorage.write, as a worker would. */
async function startWriter(root: string, key: string): Promise<ChildProcess> {
  const script = join(root, "..", "writer.ts");
  await writeFile(
    script,
    `import { LocalStorage } from ${JSON.stringify(resolve(repositoryRoot, "lib/storage/local.ts"))};\n` +
      `await new LocalStorage(process.argv[2]).write(process.argv[3], new Uint8Array(${BYTES}).fill(7));\n`,
  );
  const writer = spawn(process.execPath, ["--import", "tsx", script, root, key], { cwd: repositoryRoot, stdio: "ignore" });
  writers.push(writer);
  return writer;
}

/** Writers still running when a check fails are killed, never left stopped. */
const writers: ChildProcess[] = [];
after(() => {
  for (const writer of writers) if (writer.exitCode === null && writer.signalCode === null) writer.kill("SIGKILL");
});

/** Wait for the writer's temporary file in `folder`, then stop the writer there (SIGSTOP), mid-write. */
async function stopMidWrite(writer: ChildProcess, folder: string): Promise<string> {
  let temporary: string | undefined;
  while (!temporary && writer.exitCode === null) temporary = (await temporaries(folder))[0];
  writer.kill("SIGSTOP");
  assert.ok(temporary, "the writer made its temporary file");
  assert.ok((await stat(join(folder, temporary))).size < BYTES, "stopped mid-write");
  return temporary;
}

const exited = (child: ChildProcess): Promise<NodeJS.Signals | number | null> =>
  new Promise((done) => (child.exitCode !== null || child.signalCode !== null ? done(child.signalCode ?? child.exitCode) : child.once("exit", (code, signal) => done(signal ?? code))));

describe("temporary files of local storage", () => {
  test("a writer SIGKILLed mid-write leaves its temporary file, which a listing removes; a live (stopped) writer's is kept and its write completes", async () => {
    const dir = await testDir("localstorage");
    const root = join(dir, "out");
    const storage = new LocalStorage(root);
    const folder = join(root, "p");

    // 1. A writer stopped mid-write: alive, so its temporary file stays, and it finishes on SIGCONT.
    const live = await startWriter(root, "p/live.json");
    const liveTemporary = await stopMidWrite(live, folder);
    assert.deepEqual(await keysOf(storage, "p/"), [], "a temporary file is never listed");
    assert.deepEqual(await temporaries(folder), [liveTemporary], "a live writer's temporary file is kept");
    live.kill("SIGCONT");
    assert.equal(await exited(live), 0);
    assert.deepEqual(await keysOf(storage, "p/"), ["p/live.json"]);
    assert.equal((await stat(join(folder, "live.json"))).size, BYTES, "its write completed");

    // 2. A writer killed mid-write (SIGKILL: no cleanup of its own runs).
    const killed = await startWriter(root, "p/killed.json");
    const killedTemporary = await stopMidWrite(killed, folder); // the kill comes mid-write
    killed.kill("SIGKILL");
    assert.equal(await exited(killed), "SIGKILL", "the fault fired");
    assert.deepEqual(await temporaries(folder), [killedTemporary], "the killed writer left its temporary file");
    assert.equal(await storage.exists("p/killed.json"), false);

    assert.deepEqual(await keysOf(storage, "p/"), ["p/live.json"]);
    assert.deepEqual(await temporaries(folder), [], "the listing removed the dead writer's temporary file");
    assert.equal(await storage.write("p/killed.json", new TextEncoder().encode("{}")), true);
    assert.deepEqual(await keysOf(storage, "p/"), ["p/killed.json", "p/live.json"]);

    // 3. Names this process cannot judge by pid wait for the age bound; names it did not write (the
    // earlier format included: a listing may be of a user's folder) are never touched.
    const pattern = /^killed\.json\.tmp-(\d+)-([0-9a-f]{8})-(\d*)-([0-9a-f]{12})-(.+)$/;
    const [, , , namespace, random, host] = pattern.exec(killedTemporary) ?? assert.fail(`temporary name ${killedTemporary}`);
    const now = Date.now();
    const day = 24 * 3600 * 1000;
    const names = {
      ourPidAnotherProcess: `x.json.tmp-${process.pid}-00000000-${namespace}-${random}-${host}`,
      anotherHostFresh: `x.json.tmp-1-00000000-${namespace}-${random}-elsewhere`,
      anotherHostOld: `y.json.tmp-1-00000000-${namespace}-${random}-elsewhere`,
      earlierFormatFresh: "z.json.tmp-0123456789ab",
      earlierFormatOld: "w.json.tmp-0123456789ab",
      notOurs: "v.json.tmp-abc123",
    };
    await mkdir(join(root, "q"), { recursive: true });
    for (const name of Object.values(names)) await writeFile(join(root, "q", name), "{\"half");
    for (const name of [names.anotherHostOld, names.earlierFormatOld, names.notOurs]) await utimes(join(root, "q", name), new Date(now - 2 * day), new Date(now - 2 * day));
    assert.equal(isStaleTemporary(names.anotherHostOld, now - 2 * day, now), true);
    assert.equal(isStaleTemporary(names.anotherHostOld, now - day / 2, now), false);
    assert.deepEqual(await keysOf(storage, "q/"), []);
    assert.deepEqual((await temporaries(join(root, "q"))).sort(), [names.anotherHostFresh, names.earlierFormatFresh, names.earlierFormatOld, names.notOurs].sort());
    assert.equal(await readFile(join(root, "q", names.notOurs), "utf8"), "{\"half");
  });

  test("a writer that ended is gone to processExists, a zombie too (whom no parent reaps); this process and a stopped one are alive", async () => {
    assert.equal(processExists(process.pid), true);
    const ended = spawn("true");
    await new Promise((r) => ended.once("exit", r));
    await sleep(100);
    assert.equal(processExists(ended.pid!), false);
    // A child that ends at once, of a parent that never waits for it: a zombie. (Not a shell's
    // `true &` then `exec sleep`: the shell sometimes reaped its job before the exec.)
    const parent = spawn("python3", ["-c", "import os, time\npid = os.fork()\nif pid == 0: os._exit(0)\nprint(pid, flush=True)\ntime.sleep(30)"]);
    const zombie = Number(await new Promise<string>((r) => parent.stdout.once("data", (data: Buffer) => r(data.toString()))));
    try {
      // Under load the child may take a while to end: its state is polled, not slept on.
      const state = async (): Promise<string> => {
        const stat = await readFile(`/proc/${zombie}/stat`, "utf8");
        return stat[stat.lastIndexOf(")") + 2]!;
      };
      for (let waited = 0; (await state()) !== "Z" && waited < 5000; waited += 50) await sleep(50);
      assert.equal(await state(), "Z", "the child is a zombie");
      assert.equal(processExists(zombie), false);
      await promisify(execFile)("kill", ["-STOP", String(parent.pid)]);
      assert.equal(processExists(parent.pid!), true);
    } finally {
      parent.kill("SIGKILL");
    }
  });
});

describe("a listing while another run removes files", () => {
  test("a file removed between the folder's read and its own look-up is not listed, and the listing goes on (a raw ENOENT failed a day's combine)", async () => {
    const root = await testDir("local-list-removed");
    const storage = new LocalStorage(root);
    for (const name of ["a.json", "b.tkb", "c.json"]) await storage.write(`day/${name}`, new TextEncoder().encode(name));
    const removed: string[] = [];
    // Another run's delete lands just after this listing read the folder, before it looks at b.tkb.
    class RemovedWhileListed extends LocalStorage {
      protected override async listedObject(path: string, key: string): ReturnType<LocalStorage["listedObject"]> {
        if (key.endsWith("b.tkb")) {
          await this.delete(key);
          removed.push(key);
        }
        return super.listedObject(path, key);
      }
    }
    assert.deepEqual(await keysOf(new RemovedWhileListed(root), "day/"), ["day/a.json", "day/c.json"]);
    assert.deepEqual(removed, ["day/b.tkb"], "the fault fired");
    assert.deepEqual(await keysOf(storage, "day/"), ["day/a.json", "day/c.json"]);
  });
});
