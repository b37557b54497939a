/**
 * S3's answer to a ListObjectsV2 (a `ListBucketResult` XML document) as the page the SDK would
 * return: the objects' keys, sizes, ETags and modification times, and the token of the next page.
 * The document has a fixed shape and no markup inside values (S3 escapes `<`, `&` and quotes in
 * keys as XML entities), so each value is the text between its tags, with the entities decoded.
 */

/** One listed object. */
export interface ListedObject {
  key: string;
  size: number;
  /** With its quotes, as S3 and the SDK give it. */
  etag?: string;
  lastModified?: Date;
}

/** One page of a listing: its objects in key order, and the token of the next page when there is one. */
export interface ListPage {
  objects: ListedObject[];
  nextContinuationToken?: string;
}

/** A 200 answer that is not a listing (a proxy's page, a body cut inside the document). */
export class ListAnswerError extends Error {
  override readonly name = "InvalidListAnswer";
}

const ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

/** XML text with its entities decoded (the five named ones and numeric character references). */
export function decodeXmlText(text: string): string {
  if (!text.includes("&")) return text;
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, name: string) => {
    if (name.startsWith("#x")) return String.fromCodePoint(Number.parseInt(name.slice(2), 16));
    if (name.startsWith("#")) return String.fromCodePoint(Number.parseInt(name.slice(1), 10));
    const named = ENTITIES[name];
    if (named === undefined) throw new ListAnswerError(`unknown XML entity ${whole} in a listing`);
    return named;
  });
}

/** The text of the first `<name>` element in `xml`, decoded; undefined when there is none. */
function element(xml: string, name: string): string | undefined {
  const open = xml.indexOf(`<${name}>`);
  if (open < 0) return xml.includes(`<${name}/>`) ? "" : undefined;
  const start = open + name.length + 2;
  const end = xml.indexOf(`</${name}>`, start);
  if (end < 0) throw new ListAnswerError(`<${name}> is not closed in a listing`);
  return decodeXmlText(xml.slice(start, end));
}

/** A ListObjectsV2 answer's page; a document that is not one fails with a ListAnswerError. */
export function parseListAnswer(xml: string): ListPage {
  const root = xml.indexOf("<ListBucketResult");
  if (root < 0 || !xml.includes("</ListBucketResult>")) throw new ListAnswerError(`not a ListObjectsV2 answer: ${JSON.stringify(xml.slice(0, 80))}`);
  const objects: ListedObject[] = [];
  const firstEntry = xml.indexOf("<Contents>", root);
  let rest = root;
  for (;;) {
    const open = xml.indexOf("<Contents>", rest);
    if (open < 0) break;
    const close = xml.indexOf("</Contents>", open);
    if (close < 0) throw new ListAnswerError("<Contents> is not closed in a listing");
    const entry = xml.slice(open + "<Contents>".length, close);
    rest = close + "</Contents>".length;
    const key = element(entry, "Key");
    // As the SDK's callers do: an entry without a key names nothing.
    if (!key) continue;
    const size = Number(element(entry, "Size") ?? "0");
    if (!Number.isSafeInteger(size) || size < 0) throw new ListAnswerError(`${JSON.stringify(key)} has no valid <Size> in a listing`);
    const etag = element(entry, "ETag");
    const modified = element(entry, "LastModified");
    const lastModified = modified === undefined ? undefined : new Date(modified);
    if (lastModified && Number.isNaN(lastModified.getTime())) throw new ListAnswerError(`${JSON.stringify(key)} has an invalid <LastModified> ${JSON.stringify(modified)}`);
    objects.push({ key, size, ...(etag ? { etag } : {}), ...(lastModified ? { lastModified } : {}) });
  }
  // Outside the entries: keys cannot hold markup, so a tag found there is the document's own.
  const tail = xml.slice(rest);
  const head = xml.slice(root, firstEntry < 0 ? xml.length : firstEntry);
  const truncated = (element(head, "IsTruncated") ?? element(tail, "IsTruncated")) === "true";
  const token = element(tail, "NextContinuationToken") ?? element(head, "NextContinuationToken");
  if (truncated && !token) throw new ListAnswerError("a truncated listing without <NextContinuationToken>");
  return { objects, ...(truncated ? { nextContinuationToken: token! } : {}) };
}
