import { Client, Connection } from "@temporalio/client";
import { ConnectionError } from "../lib/errors.js";
import { flag, optional, text } from "../lib/settings/schema.js";
import { temporalConnectConfig, type TemporalConnectConfig } from "../worker/connection.js";
import { defaultTaskQueue } from "../worker/worker.js";

/**
 * Where the Temporal cluster is and how to authenticate (worker/connection.ts: flags over the
 * TEMPORAL_* environment over a temporal.toml profile), and the task queue.
 */
export interface TemporalSettings extends TemporalConnectConfig {
  address: string;
  taskQueue: string;
}

/**
 * Flags of every command that talks to Temporal: the Temporal CLI's names. No flag takes an API
 * key or a private key's contents: command lines are visible to every user of the machine (ps) and
 * kept in shell histories, so those come from TEMPORAL_API_KEY or a profile.
 */
export const temporalOptions = {
  address: optional(text({ nonEmpty: true, expected: "host:port" })),
  namespace: optional(text({ nonEmpty: true })),
  "task-queue": optional(text({ nonEmpty: true })),
  profile: optional(text({ nonEmpty: true })),
  "config-file": optional(text({ nonEmpty: true })),
  tls: optional(flag()),
  "tls-ca-path": optional(text({ nonEmpty: true })),
  "tls-cert-path": optional(text({ nonEmpty: true })),
  "tls-key-path": optional(text({ nonEmpty: true })),
  "tls-server-name": optional(text({ nonEmpty: true })),
};

/** The connection flags, for a command's --help. */
export const temporalOptionsHelp = `Connection (as the Temporal CLI): --address host:port, --namespace ns, --profile NAME of a temporal.toml
(--config-file PATH, else TEMPORAL_CONFIG_FILE, else ~/.config/temporalio/temporal.toml), --tls,
--tls-ca-path, --tls-cert-path, --tls-key-path, --tls-server-name; else the TEMPORAL_* environment
(TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*); an API key only from
TEMPORAL_API_KEY or the profile's api_key, never a flag.`;

type TemporalFlags = {
  address?: string;
  namespace?: string;
  "task-queue"?: string;
  profile?: string;
  "config-file"?: string;
  tls?: boolean;
  "tls-ca-path"?: string;
  "tls-cert-path"?: string;
  "tls-key-path"?: string;
  "tls-server-name"?: string;
};

export function temporalSettings(values: TemporalFlags): TemporalSettings {
  const config = temporalConnectConfig({
    profile: values.profile,
    configFile: values["config-file"],
    address: values.address,
    namespace: values.namespace,
    // An on/off flag reads false when absent: only a given --tls forces TLS on.
    tls: values.tls ? true : undefined,
    tlsCaPath: values["tls-ca-path"],
    tlsCertPath: values["tls-cert-path"],
    tlsKeyPath: values["tls-key-path"],
    tlsServerName: values["tls-server-name"],
  });
  return {
    ...config,
    address: config.connectionOptions.address,
    taskQueue: values["task-queue"] ?? process.env.TEMPORAL_TASK_QUEUE ?? defaultTaskQueue,
  };
}

const tlsHint = "check --tls-ca-path, --tls-cert-path/--tls-key-path, --tls-server-name (or the TEMPORAL_TLS_* settings)";

/**
 * What went wrong, in words: the SDKs' messages for the common cases are long (tonic's Rust debug
 * output) or vague. `tls` is whether we spoke TLS, which changes what a silent server likely means.
 */
function connectionDetail(error: unknown, tls: boolean): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/connection ?refused|ECONNREFUSED/i.test(message)) return "connection refused";
  if (/dns error|ENOTFOUND|EAI_AGAIN|failed to lookup|name resolution/i.test(message)) return "unknown host";
  if (/CertificateRequired|certificate required/i.test(message)) {
    return "the server requires a client certificate (mTLS): give --tls-cert-path and --tls-key-path, TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH, or a profile with them";
  }
  // rustls says what it disliked in `error: "..."` (UnknownIssuer, NotValidForName, ...).
  const rustls = /invalid peer certificate[^"]*|InvalidCertificate\([^)]*\)|UnknownIssuer|NotValidForName|BadCertificate|HandshakeFailure|CorruptMessage/.exec(message);
  if (rustls) return `TLS handshake failed (${rustls[0]}); ${tlsHint}`;
  if (/certificate|handshake|SSL|tls/i.test(message.split("\n")[0]!)) return `TLS failed (${message.split("\n")[0]!.slice(0, 160)}); ${tlsHint}`;
  const expectsTls = "if the server expects TLS: --tls, --tls-ca-path, or a profile with TLS";
  const wantsCertificate = `if the server requires a client certificate (mTLS): ${tlsHint}`;
  if (/broken pipe|stream closed|connection closed|connection reset|InvalidContentType|http2 error/i.test(message)) {
    return `the server closed the connection (${tls ? wantsCertificate : expectsTls})`;
  }
  if (/deadline/i.test(message)) return `no answer before the connection deadline (${tls ? wantsCertificate : expectsTls})`;
  const line = message.split("\n")[0]!;
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}

/**
 * Run `connect` (a client's `Connection.connect` or a worker's `NativeConnection.connect`); any
 * failure becomes a ConnectionError naming the address tried and how to point at a server, which
 * the CLI prints as one line.
 */
export async function reachTemporal<T>(settings: Pick<TemporalSettings, "address" | "connectionOptions">, connect: () => Promise<T>): Promise<T> {
  try {
    return await connect();
  } catch (error) {
    // The server answered, and refused who we are (an API key it did not sign, or with too few permissions).
    const said = [error, (error as { cause?: unknown }).cause].map((e) => (e instanceof Error ? e.message : "")).join(" ");
    const refused = /PERMISSION_DENIED|UNAUTHENTICATED|does not have permission|unauthori[sz]ed/i.exec(said);
    if (refused) {
      const why = /Request unauthorized\.?|message: "([^"]*)"/.exec(said)?.[0] ?? refused[0];
      throw new ConnectionError(
        "Temporal",
        settings.address,
        `the server refused the credential (${why.replace(/^message: /, "")})`,
        "check the credential (TEMPORAL_API_KEY or the profile's api_key, or the client certificate) and what it is allowed in this namespace",
        { cause: error },
      );
    }
    throw new ConnectionError(
      "Temporal",
      settings.address,
      connectionDetail(error, Boolean(settings.connectionOptions.tls)),
      "is a Temporal server running there? Give its address with --address or TEMPORAL_ADDRESS; " +
        "'npm run demo -- --keep' starts a local one and prints its address",
      { cause: error },
    );
  }
}

export async function connectClient(settings: TemporalSettings): Promise<{ client: Client; connection: Connection; close(): Promise<void> }> {
  const connection = await reachTemporal(settings, () => Connection.connect(settings.connectionOptions));
  return { client: new Client({ connection, namespace: settings.namespace }), connection, close: () => connection.close() };
}
