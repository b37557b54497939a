/**
 * What a user sees when a command fails: one line naming what is wrong and what to do, never a
 * stack trace (TK_DEBUG=1 prints the whole error after it). Our typed errors (lib/errors.ts) carry
 * a message meant for users; the system errors a user causes (a missing file or folder, a folder
 * given for a file, no permission, a full disk) are said in words; a Temporal service error after
 * the connection was made says what the server answered. Anything else is a bug: its message, and
 * how to see the stack.
 */
import { existsSync } from "node:fs";
import { dirname } from "node:path";
import { TemporalKerchunkError } from "../lib/errors.js";

/** Node's system errors (fs, net): a code such as ENOENT, and the path or address involved. */
interface SystemError extends Error {
  code: string;
  syscall?: string;
  path?: string;
  address?: string;
  port?: number;
}

const isSystemError = (error: unknown): error is SystemError =>
  error instanceof Error && typeof (error as { code?: unknown }).code === "string" && /^E[A-Z]+$/.test((error as SystemError).code);

/** A missing path: its folder missing too, or just the file. */
function missing(path: string): string {
  const folder = dirname(path);
  return existsSync(folder)
    ? `${path}: no such file or folder; check the path`
    : `${path}: the folder ${folder} does not exist; create it or give another path`;
}

function systemLine(error: SystemError): string | undefined {
  const path = error.path;
  if (path === undefined) {
    if (error.code === "ECONNREFUSED" && error.address) return `nothing answers at ${error.address}${error.port ? `:${error.port}` : ""}; is the server running?`;
    return undefined;
  }
  switch (error.code) {
    case "ENOENT":
      return missing(path);
    case "EISDIR":
      return `${path} is a folder; give a file`;
    case "ENOTDIR":
      return `${path}: a part of this path is a file, not a folder; check the path`;
    case "EACCES":
    case "EPERM":
      return `${path}: permission denied; check its permissions or give another path`;
    case "ENOSPC":
      return `${path}: no space left on the device`;
    case "EROFS":
      return `${path}: the file system is read-only; give another path`;
    default:
      return undefined;
  }
}

/** gRPC errors from @temporalio/client after connecting (ServiceError, NamespaceNotFoundError, ...), by name: no SDK import here. */
const temporalErrorNames = new Set(["ServiceError", "NamespaceNotFoundError", "TransportError"]);

const firstLine = (text: string): string => text.split("\n")[0]!.trim();

/** The one line to print for a command's failure (without the "error: " lead). */
export function failureLine(error: unknown): string {
  // Written for users, and one line, except a server that did not start: the end of its log follows.
  if (error instanceof TemporalKerchunkError) return error.message;
  const cause = error instanceof Error && isSystemError(error.cause) ? error.cause : undefined;
  const system = isSystemError(error) ? error : cause;
  const said = system && systemLine(system);
  if (said) return said;
  if (error instanceof Error && temporalErrorNames.has(error.name)) {
    // The worker's errors end with the Rust core's debug dump of the gRPC status: what it says is before it.
    return `Temporal: ${firstLine(error.message).replace(/: Status \{.*$/, "")}; check the server, --address/TEMPORAL_ADDRESS and --namespace/TEMPORAL_NAMESPACE`;
  }
  // A raw gRPC status from the operator or workflow service (@grpc/grpc-js: numeric code, details).
  const grpc = error as { code?: unknown; details?: unknown; metadata?: unknown };
  if (error instanceof Error && typeof grpc.code === "number" && typeof grpc.details === "string" && grpc.metadata !== undefined) {
    const unauthorized = grpc.code === 7 || grpc.code === 16; // PERMISSION_DENIED, UNAUTHENTICATED
    return `Temporal: ${firstLine(grpc.details) || firstLine(error.message)}; ${
      unauthorized
        ? "check the credential (TEMPORAL_API_KEY or the profile's api_key, or the client certificate) and what it is allowed in this namespace"
        : "check the server, --address/TEMPORAL_ADDRESS and --namespace/TEMPORAL_NAMESPACE"
    }`;
  }
  const message = error instanceof Error ? `${error.name}: ${firstLine(error.message)}` : String(error);
  return `${message} (unexpected: run with TK_DEBUG=1 to see where)`;
}

/** Print a command's failure: one line, then the whole error only when TK_DEBUG is set. */
export function reportFailure(error: unknown): void {
  console.error(`error: ${failureLine(error)}`);
  if (process.env.TK_DEBUG && process.env.TK_DEBUG !== "0") console.error(error);
}
