/**
 * AWS Signature Version 4 for the requests s3Get.ts sends: GETs (of an object's range, or of a
 * bucket's listing with its query) with an unsigned payload. The same algorithm as
 * @smithy/signature-v4 (test/source.test.ts compares the two on the same requests), synchronous
 * and with node's crypto directly: the SDK's signer hashed the secret once more per request to
 * look up its signing key cache and awaited every hash, about a third of a light request's CPU in
 * a worker's profile (issue 20).
 */
import { createHash, createHmac } from "node:crypto";

export interface SigningCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Signing keys by day, region and credentials (a key is valid for its day only). */
const signingKeys = new Map<string, Buffer>();
const MAX_SIGNING_KEYS = 50;

function signingKey(credentials: SigningCredentials, shortDate: string, region: string): Buffer {
  const cacheKey = `${shortDate}\n${region}\n${credentials.accessKeyId}\n${credentials.secretAccessKey}\n${credentials.sessionToken ?? ""}`;
  let key = signingKeys.get(cacheKey);
  if (!key) {
    key = createHmac("sha256", `AWS4${credentials.secretAccessKey}`).update(shortDate).digest();
    for (const part of [region, "s3", "aws4_request"]) key = createHmac("sha256", key).update(part).digest();
    if (signingKeys.size >= MAX_SIGNING_KEYS) signingKeys.delete(signingKeys.keys().next().value!);
    signingKeys.set(cacheKey, key);
  }
  return key;
}

/** RFC 3986 escaping, as SigV4 wants query names and values: everything but A-Z a-z 0-9 - _ . ~. */
export function uriEscape(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** A query string in SigV4's canonical form (names sorted, names and values escaped): send it as it is signed. */
export function canonicalQuery(parameters: Record<string, string>): string {
  return Object.keys(parameters)
    .sort()
    .map((name) => `${uriEscape(name)}=${uriEscape(parameters[name]!)}`)
    .join("&");
}

/**
 * The headers of a signed S3 GET of `path` (already escaped, as sent) with `query` (canonical, as
 * sent; canonicalQuery): `headers` (lower-case names, host among them) plus x-amz-date,
 * x-amz-security-token when the credentials have one, and authorization. The payload is declared
 * unsigned (x-amz-content-sha256: UNSIGNED-PAYLOAD).
 */
export function signS3Get(credentials: SigningCredentials, region: string, path: string, headers: Record<string, string>, now = new Date(), query = ""): Record<string, string> {
  const longDate = now.toISOString().replace(/[-:]|\.\d{3}/g, "");
  const shortDate = longDate.slice(0, 8);
  const signed: Record<string, string> = { ...headers, "x-amz-content-sha256": "UNSIGNED-PAYLOAD", "x-amz-date": longDate };
  if (credentials.sessionToken) signed["x-amz-security-token"] = credentials.sessionToken;
  const names = Object.keys(signed).sort();
  // A loop rather than .map: docs/benchmarks.md, "Deoptimizations".
  let canonicalHeaders = "";
  for (const name of names) canonicalHeaders += `${name}:${signed[name]!.trim().replace(/\s+/g, " ")}\n`;
  const signedHeaders = names.join(";");
  const canonicalRequest = `GET\n${path}\n${query}\n${canonicalHeaders}\n${signedHeaders}\nUNSIGNED-PAYLOAD`;
  const scope = `${shortDate}/${region}/s3/aws4_request`;
  const stringToSign = `AWS4-HMAC-SHA256\n${longDate}\n${scope}\n${createHash("sha256").update(canonicalRequest).digest("hex")}`;
  const signature = createHmac("sha256", signingKey(credentials, shortDate, region)).update(stringToSign).digest("hex");
  signed.authorization = `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return signed;
}
