/**
 * Issue 23, live arrivals by SNS HTTP(S) delivery (lib/live/sns.ts through `startListener`, the
 * receiver `listen` runs). The signer is real: an RSA key and self-signed certificate made by
 * `openssl` here, served by a local HTTP server that also counts every GET (certificate
 * downloads, subscription confirmations); messages are signed the way SNS documents
 * (https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html). The receiver
 * accepts that server only through its test-only origin option; `deliver` records the arrivals
 * (what becomes of them in Temporal is test/live.test.ts's and test/liveSqs.test.ts's).
 *
 * Shown failing: with the signature check skipped (`verified` forced true) the tampered message
 * was answered 200 and delivered; with the topic check removed the wrong topic's notification was
 * delivered and the other topic's subscription confirmed; with the SubscribeURL GET left out the
 * confirmation count stayed 0; with every URL trusted (`trusted` → true) the localhost
 * certificate was fetched and the message answered 200; with the canonical string's fields in
 * another order (Type first) the valid notifications were refused 403; with the certificate cache
 * removed it was fetched twice; with http allowed (or the host matched anywhere in the name)
 * isSnsUrl took the plain-http URL; with any origin allowed as the test-only one no error.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createSign } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { resolveDatasetSpec } from "../lib/datasets/spec.js";
import { startListener, type Listener } from "../lib/live/listener.js";
import type { Arrival } from "../lib/live/model/steps.js";
import { createSnsReceiver, isSnsUrl } from "../lib/live/sns.js";
import { testDataset } from "./harness/archive.js";

const TOPIC = "arn:aws:sns:us-east-1:123456789012:NewTestObject";
const OTHER_TOPIC = "arn:aws:sns:us-east-1:123456789012:SomeoneElses";
const BUCKET = "live-sns-src";
const keys = [0, 1, 2].map((h) => `AHI-L2-FLDK-SST/2022/03/01/0${h}00/202203010${h}0000-sst.nc`);

let dir = "";
let privateKey = "";
let certificate = "";
let signer: Server;
let origin = "";
/** GETs the signer's server answered, by path. */
const hits = new Map<string, number>();
const hitsOf = (path: string): number => hits.get(path) ?? 0;
let listener: Listener;
const delivered: Arrival[] = [];
let failDelivery = false;

const signedFields = {
  Notification: ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"],
  SubscriptionConfirmation: ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"],
} as const;
type Type = keyof typeof signedFields;

/** An SNS message of `type`, signed with the test key as SNS signs (`version` 1: SHA1, 2: SHA256). */
function signed(type: Type, fields: Record<string, string>, version: "1" | "2" = "2"): Record<string, string> {
  const message: Record<string, string> = { Type: type, MessageId: `m-${Math.random()}`, TopicArn: TOPIC, Timestamp: new Date().toISOString(), SignatureVersion: version, SigningCertURL: `${origin}/cert.pem`, ...fields };
  let canonical = "";
  for (const name of signedFields[type]) if (message[name] !== undefined) canonical += `${name}\n${message[name]}\n`;
  message.Signature = createSign(version === "1" ? "RSA-SHA1" : "RSA-SHA256").update(canonical).sign(privateKey, "base64");
  return message;
}

const s3Event = (key: string, etag: string): string =>
  JSON.stringify({ Records: [{ eventName: "ObjectCreated:Put", eventTime: "2022-03-01T00:10:00.000Z", s3: { bucket: { name: BUCKET }, object: { key, eTag: etag } } }] });

async function post(message: Record<string, string>, url = listener.url): Promise<{ status: number; text: string }> {
  const response = await fetch(url, { method: "POST", body: JSON.stringify(message), headers: { "content-type": "text/plain; charset=UTF-8", "x-amz-sns-message-type": message.Type! } });
  return { status: response.status, text: await response.text() };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "live-sns-"));
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"), "-days", "2", "-subj", "/CN=sns.test"], { stdio: "ignore" });
  privateKey = await readFile(join(dir, "key.pem"), "utf8");
  certificate = await readFile(join(dir, "cert.pem"), "utf8");
  signer = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://x").pathname;
    hits.set(path, hitsOf(path) + 1);
    response.writeHead(200, { "content-type": "text/plain" });
    response.end(path.endsWith(".pem") ? certificate : "<ConfirmSubscriptionResponse/>");
  });
  await new Promise<void>((resolve) => signer.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(signer.address() as AddressInfo).port}`;
  const spec = resolveDatasetSpec(testDataset("live-sns", { kind: "s3", bucket: BUCKET }, { kind: "s3", bucket: "live-sns-out" }));
  listener = await startListener({
    spec,
    sns: { topicArns: [TOPIC], unsafeTestOnlySigningOrigin: origin },
    deliver: async (arrivals) => {
      if (failDelivery) throw new Error("Temporal is away");
      delivered.push(...arrivals);
    },
  });
});

after(async () => {
  await listener?.close();
  signer?.closeAllConnections();
  await new Promise((resolve) => signer?.close(resolve));
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("live arrivals by SNS HTTP(S) delivery", () => {
  test("signed notifications (SignatureVersion 2 and 1) are delivered; the certificate is fetched once; a failed delivery is 503", async () => {
    const first = await post(signed("Notification", { Message: s3Event(keys[0]!, "e0"), Subject: "Amazon S3 Notification" }));
    assert.equal(first.status, 200, first.text);
    const second = await post(signed("Notification", { Message: s3Event(keys[1]!, "e1") }, "1"));
    assert.equal(second.status, 200, second.text);
    assert.deepEqual(delivered.map((a) => [a.key, a.etag, a.day]), [[keys[0], "e0", "2022-03-01"], [keys[1], "e1", "2022-03-01"]]);
    assert.equal(hitsOf("/cert.pem"), 1);
    failDelivery = true;
    try {
      const refused = await post(signed("Notification", { Message: s3Event(keys[2]!, "e2") }));
      assert.equal(refused.status, 503, refused.text);
    } finally {
      failDelivery = false;
    }
    assert.equal(delivered.length, 2);
  });

  test("a tampered Message, another topic, a certificate off SNS's hosts are refused 403 and not delivered; that certificate is never fetched", async () => {
    const before = delivered.length;
    const tampered = signed("Notification", { Message: s3Event(keys[0]!, "e0") });
    tampered.Message = s3Event(keys[2]!, "forged");
    const answer = await post(tampered);
    assert.equal(answer.status, 403, answer.text);
    assert.match(answer.text, /signature does not verify/);
    const elsewhere = await post(signed("Notification", { Message: s3Event(keys[2]!, "e2"), TopicArn: OTHER_TOPIC }));
    assert.equal(elsewhere.status, 403, elsewhere.text);
    assert.match(elsewhere.text, /SomeoneElses, not one --sns-topic-arn allows/);
    // The same server under another host name: it would answer, so a fetch would show in its counts.
    const foreignCert = `http://localhost:${new URL(origin).port}/foreign-cert.pem`;
    const foreign = await post(signed("Notification", { Message: s3Event(keys[2]!, "e2"), SigningCertURL: foreignCert }));
    assert.equal(foreign.status, 403, foreign.text);
    assert.match(foreign.text, /SigningCertURL/);
    assert.equal(hitsOf("/foreign-cert.pem"), 0);
    assert.equal(delivered.length, before);
  });

  test("a SubscriptionConfirmation GETs its SubscribeURL exactly once for an allowed topic, never for another", async () => {
    const confirmation = (topic: string, path: string) =>
      signed("SubscriptionConfirmation", { TopicArn: topic, Token: "t0k3n", Message: "You have chosen to subscribe", SubscribeURL: `${origin}${path}?Action=ConfirmSubscription&Token=t0k3n` });
    const ours = await post(confirmation(TOPIC, "/confirm-ours"));
    assert.equal(ours.status, 200, ours.text);
    assert.equal(hitsOf("/confirm-ours"), 1);
    const theirs = await post(confirmation(OTHER_TOPIC, "/confirm-theirs"));
    assert.equal(theirs.status, 403, theirs.text);
    assert.equal(hitsOf("/confirm-theirs"), 0);
    assert.equal(hitsOf("/confirm-ours"), 1);
  });

  test("SNS's hosts only, unless the test-only origin is given (loopback only); a receiver without topics refuses SNS", async () => {
    assert.ok(isSnsUrl("https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem"));
    assert.ok(isSnsUrl("https://sns.us-gov-west-1.amazonaws.com/x.pem"));
    for (const url of ["http://sns.us-east-1.amazonaws.com/x.pem", "https://sns.us-east-1.amazonaws.com.evil.example/x.pem", "https://evil.example/sns.us-east-1.amazonaws.com/x.pem", "https://sns.us-east-1.amazonaws.com:8443/x.pem", "https://s3.us-east-1.amazonaws.com/x.pem", "not a url"]) {
      assert.equal(isSnsUrl(url), false, url);
    }
    assert.throws(() => createSnsReceiver({ topicArns: [TOPIC], unsafeTestOnlySigningOrigin: "https://evil.example" }), /loopback origin/);
    // TK_LISTEN_TOKEN (MinIO's bearer token) does not shut SNS out: SNS sends none, its signature is the proof.
    const tokened = await startListener({ spec: resolveDatasetSpec(testDataset("live-sns-token", { kind: "s3", bucket: BUCKET }, { kind: "s3", bucket: "live-sns-out" })), authToken: "s3cret", sns: { topicArns: [TOPIC], unsafeTestOnlySigningOrigin: origin }, deliver: async () => undefined });
    try {
      const answer = await post(signed("Notification", { Message: s3Event(keys[0]!, "e0") }), tokened.url);
      assert.equal(answer.status, 200, answer.text);
      assert.equal((await fetch(tokened.url, { method: "POST", body: s3Event(keys[0]!, "e0") })).status, 401);
    } finally {
      await tokened.close();
    }
    const plain = await startListener({ spec: resolveDatasetSpec(testDataset("live-sns-plain", { kind: "s3", bucket: BUCKET }, { kind: "s3", bucket: "live-sns-out" })), deliver: async () => undefined });
    try {
      const answer = await post(signed("Notification", { Message: s3Event(keys[0]!, "e0") }), plain.url);
      assert.equal(answer.status, 403, answer.text);
      assert.match(answer.text, /--sns-topic-arn/);
    } finally {
      await plain.close();
    }
  });
});
