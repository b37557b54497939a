/**
 * SNS HTTP(S) delivery of S3 event notifications (Temporal-free; `listener.ts` routes what this
 * accepts). SNS POSTs a JSON message whose type is in the `x-amz-sns-message-type` header; each is
 * signed by SNS (SignatureVersion 1: SHA1withRSA, 2: SHA256withRSA) over a canonical string of
 * named fields, with the certificate at `SigningCertURL`. Anyone can POST to a public endpoint, so
 * nothing is believed before: the topic is one the user allowed (`--sns-topic-arn`), the
 * certificate and subscribe URLs are https on an `sns.<region>.amazonaws.com` host (a forged
 * message could otherwise bring its own certificate, or make us GET any URL), and the signature
 * verifies. A SubscriptionConfirmation is then confirmed by GETting its SubscribeURL; a
 * Notification's `Message` is the S3 event JSON.
 * https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html
 */
import { X509Certificate, createVerify } from "node:crypto";
import { parseS3Event } from "./events.js";

export const snsMessageTypes = ["SubscriptionConfirmation", "Notification", "UnsubscribeConfirmation"] as const;
export type SnsMessageType = (typeof snsMessageTypes)[number];

/** The fields signed, in the documented order, per message type (`Subject` only when present). */
const signedFields: Record<SnsMessageType, readonly string[]> = {
  Notification: ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"],
  SubscriptionConfirmation: ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"],
  UnsubscribeConfirmation: ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"],
};

const signatureAlgorithms: Record<string, string> = { "1": "RSA-SHA1", "2": "RSA-SHA256" };

/** An SNS request refused: 400 (not an SNS message), 403 (a topic not allowed, a URL or signature not SNS's), 503 (try again). */
export class SnsRefusal extends Error {
  constructor(
    readonly status: 400 | 403 | 503,
    message: string,
  ) {
    super(message);
    this.name = "SnsRefusal";
  }
}

export interface SnsOptions {
  /** The topics whose messages are accepted (`--sns-topic-arn`); every other is refused 403. */
  topicArns: readonly string[];
  /**
   * TESTS ONLY. A loopback origin (`http://127.0.0.1:PORT`) whose URLs are accepted as
   * SigningCertURL and SubscribeURL besides SNS's own hosts, so a test can sign with its own key.
   * Never set it elsewhere: it lets whoever runs that origin sign messages. No CLI flag sets it.
   */
  unsafeTestOnlySigningOrigin?: string;
}

/** `https://sns.<region>.amazonaws.com/...`: where SNS's certificates and subscribe URLs are. */
export function isSnsUrl(value: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    return false;
  }
  return parsed.protocol === "https:" && parsed.port === "" && /^sns\.[a-z]{2}(-[a-z]+)+-\d+\.amazonaws\.com$/.test(parsed.hostname);
}

export type SnsOutcome =
  | { type: "Notification"; event: ReturnType<typeof parseS3Event> }
  | { type: "SubscriptionConfirmation"; topicArn: string }
  | { type: "UnsubscribeConfirmation"; topicArn: string };

export interface SnsReceiver {
  /** Checks and acts on one SNS POST (`type`: its x-amz-sns-message-type header); rejects with an SnsRefusal. */
  receive(type: string, body: string): Promise<SnsOutcome>;
  /** Certificate downloads so far (one per URL while it is cached). */
  readonly certificateFetches: number;
}

export function createSnsReceiver(options: SnsOptions): SnsReceiver {
  const allowed = new Set(options.topicArns);
  const testOrigin = options.unsafeTestOnlySigningOrigin;
  if (testOrigin !== undefined) {
    const { hostname, origin } = new URL(testOrigin);
    if (!["127.0.0.1", "localhost", "[::1]"].includes(hostname) || origin !== testOrigin) {
      throw new Error(`unsafeTestOnlySigningOrigin must be a loopback origin such as http://127.0.0.1:8080, not ${testOrigin}`);
    }
  }
  const trusted = (value: string): boolean => {
    if (isSnsUrl(value)) return true;
    if (testOrigin === undefined) return false;
    try {
      return new URL(value).origin === testOrigin;
    } catch {
      return false;
    }
  };
  const certificates = new Map<string, Promise<X509Certificate>>();
  let certificateFetches = 0;

  const certificate = (url: string): Promise<X509Certificate> => {
    let cached = certificates.get(url);
    if (!cached) {
      certificateFetches++;
      cached = (async () => {
        const response = await fetch(url, { redirect: "error", signal: AbortSignal.timeout(10_000) });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        return new X509Certificate(await response.text());
      })();
      certificates.set(url, cached);
      // A failed download is not remembered: the next message tries again.
      cached.catch(() => certificates.delete(url));
    }
    return cached;
  };

  const receive = async (type: string, body: string): Promise<SnsOutcome> => {
    if (!(snsMessageTypes as readonly string[]).includes(type)) throw new SnsRefusal(400, `x-amz-sns-message-type ${type}: expected one of ${snsMessageTypes.join(", ")}`);
    const messageType = type as SnsMessageType;
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(body) as Record<string, unknown>;
    } catch {
      throw new SnsRefusal(400, `an SNS ${messageType} whose body is not JSON`);
    }
    const field = (name: string): string | undefined => (typeof message?.[name] === "string" ? (message[name] as string) : undefined);
    if (field("Type") !== messageType) throw new SnsRefusal(400, `an SNS message whose Type ${String(field("Type"))} is not its x-amz-sns-message-type ${messageType}`);
    const topicArn = field("TopicArn") ?? "";
    if (!allowed.has(topicArn)) throw new SnsRefusal(403, `an SNS ${messageType} from topic ${topicArn || "(none)"}, not one --sns-topic-arn allows`);
    const certUrl = field("SigningCertURL") ?? "";
    if (!trusted(certUrl)) throw new SnsRefusal(403, `an SNS ${messageType} whose SigningCertURL ${certUrl || "(none)"} is not https://sns.<region>.amazonaws.com/`);
    const algorithm = signatureAlgorithms[field("SignatureVersion") ?? ""];
    if (!algorithm) throw new SnsRefusal(403, `an SNS ${messageType} with SignatureVersion ${String(field("SignatureVersion"))}: expected 1 or 2`);
    let canonical = "";
    for (const name of signedFields[messageType]) {
      const value = field(name);
      if (value === undefined) {
        if (name === "Subject") continue;
        throw new SnsRefusal(400, `an SNS ${messageType} without ${name}`);
      }
      canonical += `${name}\n${value}\n`;
    }
    let cert: X509Certificate;
    try {
      cert = await certificate(certUrl);
    } catch (error) {
      throw new SnsRefusal(503, `could not fetch the SNS signing certificate ${certUrl}: ${(error as Error).message}`);
    }
    const verified = createVerify(algorithm).update(canonical, "utf8").verify(cert.publicKey, field("Signature") ?? "", "base64");
    if (!verified) throw new SnsRefusal(403, `an SNS ${messageType} from ${topicArn} whose signature does not verify with ${certUrl}`);

    if (messageType === "Notification") {
      try {
        return { type: messageType, event: parseS3Event(field("Message")!, "the SNS Notification's Message") };
      } catch (error) {
        throw new SnsRefusal(400, (error as Error).message);
      }
    }
    if (messageType === "UnsubscribeConfirmation") return { type: messageType, topicArn };
    const subscribeUrl = field("SubscribeURL")!;
    if (!trusted(subscribeUrl)) throw new SnsRefusal(403, `an SNS SubscriptionConfirmation whose SubscribeURL is not https://sns.<region>.amazonaws.com/`);
    try {
      const response = await fetch(subscribeUrl, { redirect: "error", signal: AbortSignal.timeout(10_000) });
      await response.text();
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
    } catch (error) {
      throw new SnsRefusal(503, `could not confirm the subscription to ${topicArn}: ${(error as Error).message}`);
    }
    return { type: messageType, topicArn };
  };

  return {
    receive,
    get certificateFetches() {
      return certificateFetches;
    },
  };
}
