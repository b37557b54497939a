/**
 * Where the Temporal cluster is and how to prove who we are, read the way every Temporal tool reads
 * it (@temporalio/envconfig): a profile of a `temporal.toml` file (`--config-file`, else
 * TEMPORAL_CONFIG_FILE, else ~/.config/temporalio/temporal.toml; `--profile`, else TEMPORAL_PROFILE,
 * else "default"), overridden by the TEMPORAL_* environment (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
 * TEMPORAL_API_KEY, TEMPORAL_TLS, TEMPORAL_TLS_SERVER_CA_CERT_PATH, TEMPORAL_TLS_CLIENT_CERT_PATH,
 * TEMPORAL_TLS_CLIENT_KEY_PATH, TEMPORAL_TLS_SERVER_NAME, TEMPORAL_GRPC_META_*), overridden by what
 * the caller gives (command-line flags). The result feeds a client's `Connection.connect` and a
 * worker's `NativeConnection.connect` alike: the CLI, our worker, and a worker of yours with our
 * plugin connect the same way.
 *
 * Secrets (an API key, a client key) stay in the returned connection options: `describe()` says
 * which kinds of credential are in use, never their values, and nothing here logs.
 */
import { loadClientConfigProfile, toClientOptions, type ClientConfigProfile } from "@temporalio/envconfig";
import type { NativeConnectionOptions } from "@temporalio/worker";
import { readFileSync } from "node:fs";
import { ConfigError } from "../lib/errors.js";

export const defaultAddress = "localhost:7233";
export const defaultNamespace = "default";

/** What a caller may set over the profile and the environment (the CLI's flags). */
export interface ConnectionOverrides {
  /** Profile name in the config file (default: TEMPORAL_PROFILE, else "default"). */
  profile?: string;
  /** The `temporal.toml` to read (default: TEMPORAL_CONFIG_FILE, else the user's config folder). */
  configFile?: string;
  address?: string;
  namespace?: string;
  /** Force TLS on (true) or off (false); default: on when a CA, a client certificate or an API key is set. */
  tls?: boolean;
  tlsCaPath?: string;
  tlsCertPath?: string;
  tlsKeyPath?: string;
  tlsServerName?: string;
}

/** Connection options for `Connection.connect` / `NativeConnection.connect`, and the namespace. */
export interface TemporalConnectConfig {
  /** Both SDK connections take this shape (address, tls, apiKey, metadata). */
  connectionOptions: NativeConnectionOptions & { address: string };
  namespace: string;
  /** Where the settings came from, for messages ("profile 'prod' of /etc/temporal.toml"). */
  source: string;
  /** "127.0.0.1:7233 namespace default (mTLS, API key)": what to print; never a secret's value. */
  describe(): string;
}

/** The part of an error message worth a line: envconfig's and Node's messages, first line. */
const firstLine = (error: unknown): string => (error instanceof Error ? error.message : String(error)).split("\n")[0]!;

function loadProfile(overrides: ConnectionOverrides, env: NodeJS.ProcessEnv): { profile: ClientConfigProfile; source: string } {
  const file = overrides.configFile ?? env.TEMPORAL_CONFIG_FILE;
  const profileName = overrides.profile ?? env.TEMPORAL_PROFILE;
  const setting = overrides.configFile !== undefined ? "--config-file" : env.TEMPORAL_CONFIG_FILE !== undefined ? "TEMPORAL_CONFIG_FILE" : "Temporal connection settings";
  // envconfig reads a missing default file as "no file", but a file named explicitly must exist.
  if (file !== undefined) {
    try {
      readFileSync(file);
    } catch (error) {
      throw new ConfigError(setting, `${file}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : firstLine(error)}`);
    }
  }
  try {
    const profile = loadClientConfigProfile({
      ...(file !== undefined ? { configSource: { path: file } } : {}),
      ...(profileName !== undefined ? { profile: profileName } : {}),
      overrideEnvVars: env as Record<string, string>,
    });
    const source = profileName !== undefined ? `profile '${profileName}'${file ? ` of ${file}` : ""}` : file ? `${file}` : "environment";
    return { profile, source };
  } catch (error) {
    const where = file ?? "the TEMPORAL_* environment or ~/.config/temporalio/temporal.toml";
    const what = /Profile '.*' not found/.test(firstLine(error))
      ? `profile '${profileName}' is not in ${where}`
      : `${where}: ${firstLine(error)}`;
    throw new ConfigError(overrides.profile !== undefined ? "--profile" : setting, what);
  }
}

/** The TLS part of a profile, with the caller's flags over it. */
function withTlsOverrides(profile: ClientConfigProfile, overrides: ConnectionOverrides): ClientConfigProfile {
  const tls = { ...profile.tls };
  if (overrides.tls !== undefined) tls.disabled = !overrides.tls;
  if (overrides.tlsCaPath !== undefined) tls.serverCACert = { path: overrides.tlsCaPath };
  if (overrides.tlsCertPath !== undefined) tls.clientCert = { path: overrides.tlsCertPath };
  if (overrides.tlsKeyPath !== undefined) tls.clientKey = { path: overrides.tlsKeyPath };
  if (overrides.tlsServerName !== undefined) tls.serverName = overrides.tlsServerName;
  const given = Object.keys(tls).length > 0;
  // A CA or a client certificate means TLS, as an API key does (envconfig turns TLS on for a key).
  if (given && tls.disabled === undefined) tls.disabled = false;
  return { ...profile, ...(given ? { tls } : {}) };
}

/** Which TLS file setting a read failure is about, for the message. */
function tlsFileSetting(profile: ClientConfigProfile): string {
  for (const [name, source] of [
    ["server CA certificate", profile.tls?.serverCACert],
    ["client certificate", profile.tls?.clientCert],
    ["client key", profile.tls?.clientKey],
  ] as const) {
    if (source && "path" in source) {
      try {
        readFileSync(source.path);
      } catch {
        return `${name} ${source.path}`;
      }
    }
  }
  return "TLS settings";
}

/**
 * The connection settings from `overrides` over the TEMPORAL_* environment (`env`) over the
 * profile. Throws a ConfigError naming the file or setting when the profile, the config file or a
 * certificate file cannot be read, or when a client certificate comes without its key.
 */
export function temporalConnectConfig(overrides: ConnectionOverrides = {}, env: NodeJS.ProcessEnv = process.env): TemporalConnectConfig {
  const loaded = loadProfile(overrides, env);
  const profile = withTlsOverrides(
    {
      ...loaded.profile,
      ...(overrides.address !== undefined ? { address: overrides.address } : {}),
      ...(overrides.namespace !== undefined ? { namespace: overrides.namespace } : {}),
    },
    overrides,
  );
  const tls = profile.tls;
  if (tls && !tls.disabled && (tls.clientCert === undefined) !== (tls.clientKey === undefined)) {
    throw new ConfigError(
      tls.clientCert ? "TLS client key" : "TLS client certificate",
      `a client certificate needs its key (--tls-cert-path with --tls-key-path, or TEMPORAL_TLS_CLIENT_CERT_PATH with TEMPORAL_TLS_CLIENT_KEY_PATH)`,
    );
  }
  let options: ReturnType<typeof toClientOptions>;
  try {
    options = toClientOptions(profile);
  } catch (error) {
    throw new ConfigError(tlsFileSetting(profile), (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : firstLine(error));
  }
  const address = profile.address ?? defaultAddress;
  const namespace = profile.namespace ?? defaultNamespace;
  const connectionOptions = { ...options.connectionOptions, address };
  const credentials = [
    connectionOptions.tls ? (typeof connectionOptions.tls === "object" && connectionOptions.tls.clientCertPair ? "mTLS" : "TLS") : undefined,
    profile.apiKey !== undefined ? "API key" : undefined,
  ].filter((c): c is string => c !== undefined);
  return {
    connectionOptions,
    namespace,
    source: loaded.source,
    describe: () => `${address} namespace ${namespace}${credentials.length ? ` (${credentials.join(", ")})` : ""}`,
  };
}
