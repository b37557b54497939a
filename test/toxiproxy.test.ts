import { CreateBucketCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { SourceReadError } from "../lib/errors.js";
import { ToxiproxyApiError, ToxiproxyServer, type ProxyHandle } from "./harness/servers/toxiproxy.js";
import { S3Source } from "../lib/source/s3.js";
import { createS3Client } from "../lib/source/s3Client.js";
import { s3, uniqueBucket } from "./harness/env.js";

const toxiproxy = new ToxiproxyServer();
const bucket = uniqueBucket("toxiproxy");
const key = "data/object.bin";
const body = randomBytes(2 * 1024 * 1024);
let direct: S3Client;

before(async () => {
  direct = s3();
  await direct.send(new CreateBucketCommand({ Bucket: bucket }));
  await direct.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  await toxiproxy.start();
});

after(async () => {
  direct.destroy();
  await toxiproxy.stop();
});

/** A fresh S3 client (no pooled connections from earlier cases) reading `key` through `proxy`. */
async function readThrough(proxy: ProxyHandle, offset: number, length: number): Promise<Uint8Array> {
  const client = createS3Client({ endpoint: proxy.url });
  try {
    return await new S3Source(client, bucket, key).read(offset, length);
  } finally {
    client.destroy();
  }
}

async function readFailure(proxy: ProxyHandle, offset: number, length: number): Promise<SourceReadError> {
  try {
    await readThrough(proxy, offset, length);
  } catch (error) {
    assert.ok(error instanceof SourceReadError, `expected a SourceReadError, got ${String(error)}`);
    return error;
  }
  assert.fail("the read through the proxy succeeded");
}

let counter = 0;
async function freshProxy(): Promise<ProxyHandle> {
  return toxiproxy.createProxy(`minio-${++counter}`, process.env.AWS_ENDPOINT_URL!);
}

describe("Toxiproxy in front of MinIO", () => {
  test("server reports its version; a new proxy is listed and forwards S3 reads unchanged", async () => {
    // A release build says "2.5.0"; one built by `go install` (as provision.sh does) says "git".
    assert.ok((await toxiproxy.client.version()).length > 0);
    const proxy = await freshProxy();
    const listed = await toxiproxy.client.proxies();
    assert.equal(listed[proxy.name]?.upstream, proxy.upstream);
    assert.equal(listed[proxy.name]?.enabled, true);
    assert.match(proxy.listen, /^127\.0\.0\.1:\d+$/);
    const bytes = await readThrough(proxy, 1000, 50_000);
    assert.deepEqual(Buffer.from(bytes), body.subarray(1000, 51_000));
    await proxy.delete();
    assert.equal((await toxiproxy.client.proxies())[proxy.name], undefined);
  });

  test("latency toxic with jitter: reported by Toxiproxy, updated, removed; reads still correct", async () => {
    const proxy = await freshProxy();
    const toxic = await proxy.latency(20, { jitter: 5 });
    assert.deepEqual(
      { name: toxic.name, type: toxic.type, stream: toxic.stream, toxicity: toxic.toxicity, attributes: toxic.attributes },
      { name: "latency_downstream", type: "latency", stream: "downstream", toxicity: 1, attributes: { latency: 20, jitter: 5 } },
    );
    const bytes = await readThrough(proxy, 0, 10_000);
    assert.deepEqual(Buffer.from(bytes), body.subarray(0, 10_000));

    const updated = await proxy.updateToxic<"latency">("latency_downstream", { attributes: { latency: 40 } });
    assert.equal(updated.attributes.latency, 40);
    const state = await proxy.state();
    assert.equal(state.toxics.length, 1);
    assert.equal((state.toxics[0] as { attributes: { latency: number } }).attributes.latency, 40);

    await proxy.removeToxic("latency_downstream");
    assert.deepEqual(await proxy.toxics(), []);
    await proxy.delete();
  });

  test("a disabled proxy (store down) fails reads with a retryable SourceReadError; enabling restores them", async () => {
    const proxy = await freshProxy();
    await proxy.disable();
    assert.equal((await proxy.state()).enabled, false);
    const error = await readFailure(proxy, 0, 1000);
    assert.equal(error.retryable, true, error.message);
    await proxy.enable();
    assert.equal((await proxy.state()).enabled, true);
    assert.deepEqual(Buffer.from(await readThrough(proxy, 0, 1000)), body.subarray(0, 1000));
    await proxy.delete();
  });

  test("reset_peer: the read fails with a retryable SourceReadError", async () => {
    const proxy = await freshProxy();
    await proxy.addToxic({ type: "reset_peer", attributes: { timeout: 0 } });
    const error = await readFailure(proxy, 0, 1000);
    assert.equal(error.retryable, true, error.message);
    await proxy.removeAllToxics();
    assert.deepEqual(Buffer.from(await readThrough(proxy, 0, 1000)), body.subarray(0, 1000));
    await proxy.delete();
  });

  test("limit_data: a connection cut mid-body fails the read (retryable), never a short buffer", async () => {
    const proxy = await freshProxy();
    await proxy.addToxic({ type: "limit_data", attributes: { bytes: 64 * 1024 } });
    const error = await readFailure(proxy, 0, body.length);
    assert.equal(error.retryable, true, error.message);
    await proxy.delete();
  });

  test("timeout: a connection that goes silent and closes fails the read (retryable)", async () => {
    const proxy = await freshProxy();
    await proxy.addToxic({ type: "timeout", attributes: { timeout: 200 }, stream: "upstream" });
    const error = await readFailure(proxy, 0, 1000);
    assert.equal(error.retryable, true, error.message);
    await proxy.delete();
  });

  test("slicer and bandwidth: data arrives in small pieces, slowly, and intact", async () => {
    const proxy = await freshProxy();
    await proxy.addToxic({ type: "slicer", attributes: { average_size: 512, size_variation: 256, delay: 10 } });
    await proxy.addToxic({ type: "bandwidth", attributes: { rate: 100_000 }, stream: "upstream", name: "slow_requests" });
    const names = (await proxy.toxics()).map((t) => `${t.type}/${t.stream}/${t.name}`).sort();
    assert.deepEqual(names, ["bandwidth/upstream/slow_requests", "slicer/downstream/slicer_downstream"]);
    const bytes = await readThrough(proxy, 100_000, 300_000);
    assert.deepEqual(Buffer.from(bytes), body.subarray(100_000, 400_000));
    await proxy.delete();
  });

  test("toxicity 0: the toxic is registered but no connection gets it", async () => {
    const proxy = await freshProxy();
    await proxy.addToxic({ type: "reset_peer", attributes: {}, toxicity: 0 });
    assert.equal((await proxy.toxics())[0]?.toxicity, 0);
    assert.deepEqual(Buffer.from(await readThrough(proxy, 0, 1000)), body.subarray(0, 1000));
    await proxy.delete();
  });

  test("API errors are typed: duplicate toxic (409), unknown proxy (404); reset clears everything", async () => {
    const proxy = await freshProxy();
    await proxy.latency(10);
    await assert.rejects(proxy.latency(10), (e: unknown) => e instanceof ToxiproxyApiError && e.status === 409);
    await assert.rejects(toxiproxy.client.proxy("no-such-proxy"), (e: unknown) => e instanceof ToxiproxyApiError && e.status === 404);
    await proxy.disable();
    await toxiproxy.client.reset();
    const state = await proxy.state();
    assert.equal(state.enabled, true);
    assert.deepEqual(state.toxics, []);
    await proxy.delete();
  });
});
