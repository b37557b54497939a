/**
 * Connection settings as Temporal users write them (issue 21): a temporal.toml profile, the
 * TEMPORAL_* environment over it, flags over both (worker/connection.ts); a bad profile, config
 * file or certificate is one line naming it; and an API key or client key given to the CLI never
 * reaches the output, the workflow histories or the worker's log.
 */
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { temporalConnectConfig } from "../worker/connection.js";
import { makeArchive, startWorkerProcess, testDataset, writeConfig } from "./harness/archive.js";
import { runCli, type CliResult } from "./harness/cli.js";
import { temporalAddress, testDir } from "./harness/env.js";
import { clientFor } from "./harness/temporal.js";
import { datasetHistories } from "./harness/outputs.js";

/** A PEM-looking text: envconfig passes it through as bytes; only a TLS handshake would parse it. */
const pem = (label: string, body: string): string => `-----BEGIN ${label}-----\n${Buffer.from(body).toString("base64")}\n-----END ${label}-----\n`;

function oneLine(result: CliResult, expected: RegExp, what: string): void {
  const lines = result.stderr.split("\n").filter((line) => line.trim() !== "");
  assert.equal(lines.length, 1, `${what}: one line on standard error, got:\n${result.stderr}`);
  assert.match(lines[0]!, expected, what);
  assert.equal(result.code, 1, `${what}: exit code`);
}

describe("connection settings: profile, environment, flags", () => {
  test("a temporal.toml profile, the TEMPORAL_* environment over it, flags over both", async () => {
    const dir = await testDir("connection");
    const ca = join(dir, "ca.pem");
    const cert = join(dir, "client.pem");
    const key = join(dir, "client.key");
    await Promise.all([writeFile(ca, pem("CERTIFICATE", "ca")), writeFile(cert, pem("CERTIFICATE", "client")), writeFile(key, pem("PRIVATE KEY", "key"))]);
    const file = join(dir, "temporal.toml");
    await writeFile(
      file,
      [
        "[profile.default]",
        'address = "default.example:7233"',
        "[profile.prod]",
        'address = "prod.example:7233"',
        'namespace = "prod-ns"',
        'api_key = "profile-api-key"',
        "[profile.prod.tls]",
        `server_ca_cert_path = "${ca}"`,
        `client_cert_path = "${cert}"`,
        `client_key_path = "${key}"`,
        'server_name = "frontend.prod"',
        "[profile.plain]",
        'address = "plain.example:7233"',
      ].join("\n"),
    );
    const fromFile = temporalConnectConfig({ configFile: file, profile: "prod" }, {});
    assert.equal(fromFile.connectionOptions.address, "prod.example:7233");
    assert.equal(fromFile.namespace, "prod-ns");
    assert.equal(fromFile.connectionOptions.apiKey, "profile-api-key");
    const tls = fromFile.connectionOptions.tls;
    assert.ok(typeof tls === "object" && tls, "TLS settings from the profile");
    assert.equal(tls.serverNameOverride, "frontend.prod");
    assert.equal(Buffer.from(tls.serverRootCACertificate!).toString(), await readFile(ca, "utf8"));
    assert.equal(Buffer.from(tls.clientCertPair!.key).toString(), await readFile(key, "utf8"));
    assert.equal(fromFile.describe(), "prod.example:7233 namespace prod-ns (mTLS, API key)");
    assert.doesNotMatch(fromFile.describe(), /profile-api-key/);

    // TEMPORAL_PROFILE and TEMPORAL_CONFIG_FILE pick the profile; TEMPORAL_* values override it.
    const fromEnv = temporalConnectConfig({}, { TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: "prod", TEMPORAL_ADDRESS: "env.example:7233", TEMPORAL_API_KEY: "env-key" });
    assert.equal(fromEnv.connectionOptions.address, "env.example:7233");
    assert.equal(fromEnv.connectionOptions.apiKey, "env-key");
    assert.equal(fromEnv.namespace, "prod-ns");
    // Flags over both.
    const fromFlags = temporalConnectConfig({ address: "flag.example:7233", namespace: "flag-ns" }, { TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: "prod", TEMPORAL_ADDRESS: "env.example:7233" });
    assert.equal(fromFlags.connectionOptions.address, "flag.example:7233");
    assert.equal(fromFlags.namespace, "flag-ns");

    // The "default" profile when none is named; plain text without TLS; the local default with no file.
    assert.equal(temporalConnectConfig({ configFile: file }, {}).connectionOptions.address, "default.example:7233");
    const plain = temporalConnectConfig({ configFile: file, profile: "plain" }, {});
    assert.equal(plain.connectionOptions.tls, undefined);
    assert.equal(plain.describe(), "plain.example:7233 namespace default");
    assert.equal(temporalConnectConfig({}, { HOME: dir }).connectionOptions.address, "localhost:7233");
    // A CA flag alone turns TLS on; an API key alone too (as envconfig and Temporal Cloud expect).
    assert.ok(temporalConnectConfig({ configFile: file, profile: "plain", tlsCaPath: ca }, {}).connectionOptions.tls);
    assert.equal(temporalConnectConfig({}, { HOME: dir, TEMPORAL_API_KEY: "k" }).connectionOptions.tls, true);
    assert.equal(temporalConnectConfig({}, { HOME: dir, TEMPORAL_API_KEY: "k", TEMPORAL_TLS: "false" }).connectionOptions.tls, false);
  });

  test("a missing profile, config file or certificate, or a certificate without its key: one line naming it", async () => {
    const dir = await testDir("connection");
    const file = join(dir, "temporal.toml");
    await writeFile(file, '[profile.default]\naddress = "127.0.0.1:9"\n');
    const [profile, configFile, ca, keyless, envFile] = await Promise.all([
      runCli(["worker", "--config-file", file, "--profile", "staging"]),
      runCli(["backfill", "--dataset", "d", "--start", "2022-01-01", "--end", "2022-01-01", "--config-file", join(dir, "nope.toml")]),
      runCli(["schedule", "--dataset", "d", "--config-file", file, "--tls-ca-path", join(dir, "missing-ca.pem")]),
      runCli(["worker", "--config-file", file, "--tls-cert-path", file]),
      runCli(["worker"], { TEMPORAL_CONFIG_FILE: join(dir, "gone.toml") }),
    ]);
    oneLine(profile, /^error: invalid --profile: profile 'staging' is not in .*temporal\.toml$/, "--profile <missing>");
    oneLine(configFile, /^error: invalid --config-file: .*nope\.toml: no such file$/, "--config-file <missing>");
    oneLine(ca, /^error: invalid server CA certificate .*missing-ca\.pem: no such file$/, "--tls-ca-path <missing>");
    oneLine(keyless, /^error: invalid TLS client key: a client certificate needs its key/, "--tls-cert-path without a key");
    oneLine(envFile, /^error: invalid TEMPORAL_CONFIG_FILE: .*gone\.toml: no such file$/, "TEMPORAL_CONFIG_FILE <missing>");
  });

  test("an API key and a client key given to the CLI reach neither its output, the histories nor the worker's log", async () => {
    const dir = await testDir("connection");
    // Markers that cannot appear by chance; the dev server takes the key's header and ignores it.
    const apiKey = `tk-api-key-${Math.random().toString(36).slice(2)}`;
    const clientKey = `tk-client-key-${Math.random().toString(36).slice(2)}`;
    const keyFile = join(dir, "client.key");
    await writeFile(keyFile, pem("PRIVATE KEY", clientKey));
    const secretsIn = (text: string): string[] => [apiKey, clientKey, Buffer.from(clientKey).toString("base64")].filter((s) => text.includes(s));
    // Plain text to the dev server: an API key turns TLS on unless told otherwise (TEMPORAL_TLS=false).
    // The worker reads the client key from a file, the CLI from the environment (envconfig takes one or the other).
    const env = { TEMPORAL_ADDRESS: temporalAddress(), TEMPORAL_API_KEY: apiKey, TEMPORAL_TLS: "false", TEMPORAL_TLS_CLIENT_KEY_DATA: pem("PRIVATE KEY", clientKey) };

    const archive = join(dir, "archive");
    await makeArchive(archive, "2022-09-01", 2, { hours: 2, grid: [10, 20] });
    const config = await writeConfig(dir, [testDataset("conn-secrets", { kind: "local", path: archive }, { kind: "local", path: join(dir, "out") })]);
    const logFile = join(dir, "worker.log");
    const worker = await startWorkerProcess({ address: temporalAddress(), taskQueue: "conn-secrets", config, logFile, env: { ...env, TEMPORAL_TLS_CLIENT_KEY_DATA: undefined, TEMPORAL_TLS_CLIENT_KEY_PATH: keyFile, TK_LOG_LEVEL: "INFO" } });
    let backfill: CliResult;
    let unreachable: CliResult;
    try {
      [backfill, unreachable] = await Promise.all([
        runCli(["backfill", "--dataset", "conn-secrets", "--start", "2022-09-01", "--end", "2022-09-02", "--task-queue", "conn-secrets"], env),
        // A failure printed whole (TK_DEBUG=1 adds the error and its cause): no secret in it either.
        runCli(["schedule", "--dataset", "conn-secrets", "--address", "127.0.0.1:9"], { ...env, TK_DEBUG: "1" }),
      ]);
    } finally {
      await worker.stop();
    }
    assert.equal(backfill.code, 0, `the backfill with an API key set completed:\n${backfill.stderr}`);
    assert.match(unreachable.stderr, /cannot reach Temporal at 127\.0\.0\.1:9/);
    const { client, connection } = await clientFor();
    const histories = await datasetHistories(client, "conn-secrets");
    await connection.close();
    assert.ok(histories.size >= 3, `the backfill and its periods: ${histories.size} histories`);
    const places: [string, string][] = [
      ["backfill output", backfill.stdout + backfill.stderr],
      ["TK_DEBUG failure output", unreachable.stdout + unreachable.stderr],
      ["worker log", await readFile(logFile, "utf8")],
      ...[...histories].map(([id, history]): [string, string] => [`history of ${id}`, JSON.stringify(history, (_, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString("latin1") : v))]),
    ];
    assert.match(places[2]![1], /worker on .* namespace default \(API key\)/, "the worker says it uses an API key (not which)");
    for (const [where, text] of places) assert.deepEqual(secretsIn(text), [], `a secret appears in ${where}`);
  });
});
