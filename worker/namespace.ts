/**
 * What a namespace needs before our workflows run in it: our custom search attributes
 * (workflows/searchAttributes.ts), which every workflow sets at start. The dev server we start
 * registers them by flag; on a real cluster `temporal-kerchunk setup` adds them (through the
 * operator service, as `temporal operator search-attribute create` does), and a worker checks at
 * start that they are there, so a namespace without them fails at once with what to run, not
 * later with a workflow task that cannot start a child.
 */
import type { NativeConnection } from "@temporalio/worker";
import { encodeSearchAttributeIndexedValueType } from "@temporalio/common/lib/search-attributes.js";
import { ConfigError } from "../lib/errors.js";
import { searchAttributeRegistrations } from "../workflows/searchAttributes.js";

/** Either connection (a client's or a worker's) has the operator service. */
export type OperatorConnection = Pick<NativeConnection, "operatorService">;

/** "KeywordList" (the dev server's spelling) → the API's enum value. */
const indexedValueType = (type: string): number => encodeSearchAttributeIndexedValueType(type.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase() as "KEYWORD")!;

export interface SearchAttributeStatus {
  /** Ours, present with the right type. */
  found: string[];
  missing: string[];
  /** Present under our name with another type: setup cannot fix that (a cluster cannot change a type). */
  conflicting: string[];
}

export async function searchAttributeStatus(connection: OperatorConnection, namespace: string): Promise<SearchAttributeStatus> {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  const status: SearchAttributeStatus = { found: [], missing: [], conflicting: [] };
  for (const [name, type] of Object.entries(searchAttributeRegistrations)) {
    const present = customAttributes?.[name];
    if (present === undefined || present === null) status.missing.push(name);
    else if (Number(present) !== indexedValueType(type)) status.conflicting.push(name);
    else status.found.push(name);
  }
  return status;
}

const conflictError = (namespace: string, names: string[]): ConfigError =>
  new ConfigError(
    `namespace ${namespace}`,
    `search attribute${names.length > 1 ? "s" : ""} ${names.join(", ")} exist${names.length > 1 ? "" : "s"} with another type than Keyword; ` +
      "remove them (temporal operator search-attribute remove) or use another namespace",
  );

/**
 * Add the search attributes the namespace lacks (idempotent: a second run adds nothing). Returns
 * what it added and what was there.
 */
export async function prepareNamespace(connection: OperatorConnection, namespace: string): Promise<{ created: string[]; found: string[] }> {
  const status = await searchAttributeStatus(connection, namespace);
  if (status.conflicting.length) throw conflictError(namespace, status.conflicting);
  if (status.missing.length) {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(status.missing.map((name) => [name, indexedValueType(searchAttributeRegistrations[name]!)])),
    });
  }
  return { created: status.missing, found: status.found };
}

/** gRPC codes of a server that does not let this caller list search attributes (some Temporal Cloud setups). */
const PERMISSION_DENIED = 7;
const UNIMPLEMENTED = 12;

/**
 * Throws a ConfigError saying what to run when the namespace lacks what our workflows need.
 * Returns a note instead when the server does not let us look (the check is then the user's).
 */
export async function checkNamespaceReady(connection: OperatorConnection, namespace: string): Promise<string | undefined> {
  let status: SearchAttributeStatus;
  try {
    status = await searchAttributeStatus(connection, namespace);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === PERMISSION_DENIED || code === UNIMPLEMENTED) {
      return `could not list the search attributes of namespace ${namespace} (${code === PERMISSION_DENIED ? "permission denied" : "not supported"}); make sure ${Object.keys(searchAttributeRegistrations).join(", ")} exist (Keyword)`;
    }
    throw error;
  }
  if (status.conflicting.length) throw conflictError(namespace, status.conflicting);
  if (status.missing.length) {
    throw new ConfigError(
      `namespace ${namespace}`,
      `search attribute${status.missing.length > 1 ? "s" : ""} ${status.missing.join(", ")} missing; run 'temporal-kerchunk setup --namespace ${namespace}' (with this worker's connection settings) once`,
    );
  }
  return undefined;
}
