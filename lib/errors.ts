/**
 * Typed errors shared by every library module. Each carries the context a user needs to act
 * (the URL, the structure or variable, the setting) and whether retrying could help, so the
 * Temporal activities can map them to retryable or non-retryable failures without parsing text.
 */

export type ErrorContext = Record<string, string | number | boolean | undefined>;

export abstract class TemporalKerchunkError extends Error {
  /** Stable machine-readable kind, e.g. "Hdf5FormatError"; used as the Temporal failure type. */
  abstract readonly kind: string;
  /** True when the same call may succeed later (network, throttling); false for bad input. */
  abstract readonly retryable: boolean;
  readonly context: ErrorContext;

  constructor(message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.context = context;
    this.name = new.target.name;
  }
}

/** The bytes are not a valid HDF5 file, or a structure in it is damaged. Never retryable. */
export class Hdf5FormatError extends TemporalKerchunkError {
  readonly kind = "Hdf5FormatError";
  readonly retryable = false;
  constructor(
    readonly url: string,
    readonly structure: string,
    detail: string,
    readonly address?: number,
  ) {
    super(
      `${url}: invalid HDF5 ${structure}${address === undefined ? "" : ` at address ${address}`}: ${detail}`,
      { url, structure, address },
    );
  }
}

/** The bytes are not a valid netCDF-3 (classic, 64-bit offset, CDF-5) file, or its header is damaged. Never retryable. */
export class Netcdf3FormatError extends TemporalKerchunkError {
  readonly kind = "Netcdf3FormatError";
  readonly retryable = false;
  constructor(
    readonly url: string,
    readonly structure: string,
    detail: string,
    readonly offset?: number,
  ) {
    super(`${url}: invalid netCDF-3 ${structure}${offset === undefined ? "" : ` at byte ${offset}`}: ${detail}`, { url, structure, offset });
  }
}

/** A valid HDF5 feature we do not translate (szip, compound data, ...), for one variable. */
export class UnsupportedFeatureError extends TemporalKerchunkError {
  readonly kind = "UnsupportedFeatureError";
  readonly retryable = false;
  constructor(
    readonly url: string,
    readonly variable: string,
    readonly feature: string,
  ) {
    super(`${url}: variable ${variable}: unsupported ${feature}`, { url, variable, feature });
  }
}

/** Reading bytes failed. `retryable` tells a transient fault (timeout, 5xx) from a permanent one. */
export class SourceReadError extends TemporalKerchunkError {
  readonly kind = "SourceReadError";
  constructor(
    readonly url: string,
    detail: string,
    readonly retryable: boolean,
    options?: { cause?: unknown; offset?: number; length?: number },
  ) {
    super(`${url}: read failed: ${detail}`, { url, offset: options?.offset, length: options?.length }, options);
  }
}

/** Listing, reading or writing a storage location (local folder or S3 bucket) failed. */
export class StorageError extends TemporalKerchunkError {
  readonly kind = "StorageError";
  constructor(
    readonly storage: string,
    readonly key: string,
    detail: string,
    readonly retryable: boolean,
  ) {
    // The storage's root (a listing of all of it) has no key to name.
    super(key ? `${storage}: ${key}: ${detail}` : `${storage}: ${detail}`, { storage, key });
  }
}

/**
 * Reference sets that cannot be combined into one correct dataset (mismatched metadata, duplicate
 * or missing coordinates, chunks that do not line up). Names the input file, the variable and the
 * setting that changes the outcome, when one does. Never retryable: the inputs must change.
 */
export class CombineError extends TemporalKerchunkError {
  readonly kind = "CombineError";
  readonly retryable = false;
  constructor(
    /** Short stable name of the problem, e.g. "mismatched-chunks", "duplicate-coordinate". */
    readonly problem: string,
    readonly file: string,
    readonly variable: string | undefined,
    detail: string,
    readonly setting?: string,
  ) {
    super(
      `${file}: ${variable === undefined ? "" : `variable ${variable}: `}${detail}${setting ? ` (setting: ${setting})` : ""}`,
      { problem, file, variable, setting },
    );
  }
}

/** A local server we start (Temporal dev server, MinIO, Toxiproxy) failed to start or stopped. */
export class ServerProcessError extends TemporalKerchunkError {
  readonly kind = "ServerProcessError";
  readonly retryable = false;
  constructor(
    readonly server: string,
    detail: string,
  ) {
    super(`${server}: ${detail}`, { server });
  }
}

/**
 * A server we connect to (the Temporal frontend) did not answer at the address tried. The message
 * names the address and how to point at another (`hint`). Retryable: the server may come up.
 */
export class ConnectionError extends TemporalKerchunkError {
  readonly kind = "ConnectionError";
  readonly retryable = true;
  constructor(
    readonly server: string,
    readonly address: string,
    detail: string,
    hint: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot reach ${server} at ${address}: ${detail}; ${hint}`, { server, address }, options);
  }
}

/** A setting or input is invalid; the message says which one and what to change. */
export class ConfigError extends TemporalKerchunkError {
  readonly kind = "ConfigError";
  readonly retryable = false;
  constructor(
    readonly setting: string,
    detail: string,
  ) {
    super(`invalid ${setting}: ${detail}`, { setting });
  }
}

/**
 * The Icechunk store refused or failed an operation: a day that would break the time axis, metadata
 * that does not match the store, references Icechunk rejects, bindings that do not load, a commit
 * that kept conflicting. `problem` is a short stable name ("out-of-order", "mismatched-array", ...).
 */
export class IcechunkError extends TemporalKerchunkError {
  readonly kind = "IcechunkError";
  constructor(
    readonly problem: string,
    /** The repository ("s3://bucket/prefix" or a folder), or the package for loading problems. */
    readonly store: string,
    detail: string,
    readonly retryable: boolean,
    extra: { day?: string; variable?: string } = {},
  ) {
    // The problem leads the message too, so a failed day's result names it ("ERROR(IcechunkError): out-of-order: ...").
    super(`${problem}: ${store}: ${extra.day ? `day ${extra.day}: ` : ""}${extra.variable ? `variable ${extra.variable}: ` : ""}${detail}`, { problem, store, ...extra });
  }
}
