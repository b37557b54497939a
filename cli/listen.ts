import { outputRules } from "../lib/backfill/model/index.js";
import { loadDatasetRegistry } from "../lib/datasets/config.js";
import { startListener, type DeliverArrivals } from "../lib/live/listener.js";
import { createSqsClient, startSqsPoller } from "../lib/live/sqs.js";
import { oneOf, optional, repeated, text, url, whole } from "../lib/settings/schema.js";
import { arriveSignal, liveV1, type LiveInput } from "../workflows/live.js";
import { searchAttributesOf } from "../workflows/searchAttributes.js";
import { parseCommandLine } from "./args.js";
import { connectClient, temporalOptions, temporalOptionsHelp, temporalSettings } from "./connection.js";

const help = `usage: temporal-kerchunk listen --dataset NAME [--config datasets.json] [--port 9380] [--host 127.0.0.1]
         [--sqs-queue-url URL [--sqs-region r] [--sqs-protocol json|query]] [--sns-topic-arn ARN ...]
         [--window-ms 2000] [--sweep-every-ms 600000] [--sweep-days 2] [--max-history-events 5000]
         [--address host:port] [--namespace ns] [--task-queue q]

Receives S3 event notifications (MinIO's webhook target; the S3 event JSON) over HTTP and hands
each new object of the dataset (its bucket, prefix and template) to the dataset's live workflow
(<dataset>/live, started when needed), which commits it to the dataset's Icechunk store within
seconds. An object seen before with the same ETag is a duplicate; with a new ETag it is extracted
again. Other keys are counted and dropped. A request is answered 200 only once its arrivals are
recorded in Temporal (else 503: the sender keeps the event and retries). Runs until SIGINT/SIGTERM.
With TK_LISTEN_TOKEN set, requests must carry 'Authorization: Bearer <token>' (MinIO's auth_token).
With --sqs-queue-url, it long-polls that SQS queue instead of listening on HTTP (S3 → SQS, or
S3 → SNS → SQS: NOAA's buckets): a message is the S3 event JSON or SNS's envelope of it, and is
deleted once its arrivals are recorded in Temporal. Credentials come from the AWS SDK's usual chain
(AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, an instance role); the region from the queue
URL (else --sqs-region, AWS_REGION); AWS_ENDPOINT_URL_SQS overrides the queue URL's host;
--sqs-protocol query for SQS servers that speak only the Query protocol (goaws).
With --sns-topic-arn (once per topic), the HTTP receiver also takes SNS HTTP(S) deliveries from
those topics: it checks each message's signature against SNS's certificate, confirms the
subscription, and takes a Notification's Message as the S3 event; other topics are refused (403).
--window-ms, --sweep-*, --max-history-events are the live workflow's settings when this starts it
(README "Live arrivals").
${temporalOptionsHelp}`;

export const listenCommand = {
  summary: "receive S3 event notifications and append new files to a dataset's Icechunk store",
  async run(args: string[]): Promise<number> {
    const line = parseCommandLine("listen", args, {
      ...temporalOptions,
      dataset: text({ nonEmpty: true }),
      config: optional(text({ nonEmpty: true })),
      port: optional(whole({ min: 0, max: 65_535 }), 9380),
      host: optional(text({ nonEmpty: true }), "127.0.0.1"),
      "window-ms": optional(whole({ min: 0 }), 2000),
      "sweep-every-ms": optional(whole({ min: 1000 }), 600_000),
      "sweep-days": optional(whole({ min: 0 }), 2),
      "max-history-events": optional(whole({ min: 50 }), 5000),
      "sqs-queue-url": optional(url()),
      "sqs-region": optional(text({ nonEmpty: true })),
      "sqs-protocol": optional(oneOf(["json", "query"] as const), "json"),
      "sns-topic-arn": optional(repeated(text({ pattern: /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]+$/, expected: "an SNS topic ARN (arn:aws:sns:<region>:<account>:<topic>)" })), []),
    });
    if (line.help) {
      console.log(help);
      return 0;
    }
    const { values } = line;
    const spec = (await loadDatasetRegistry(values.config ?? process.env.TK_CONFIG)).get(values.dataset);
    if (!outputRules(spec.output.format).store || spec.source.storage.kind !== "s3") {
      console.error(`error: dataset ${spec.name}: live arrivals need an S3 source and output.format "icechunk" (its source is ${spec.source.storage.kind}, its output.format "${spec.output.format}")`);
      return 1;
    }
    const queueUrl = values["sqs-queue-url"];
    const topicArns = values["sns-topic-arn"];
    if (queueUrl !== undefined && topicArns.length > 0) {
      console.error("error: --sns-topic-arn is for the HTTP receiver and --sqs-queue-url replaces it: give one of them (an SQS queue takes SNS messages without it)");
      return 1;
    }
    const settings = temporalSettings(values);
    const { client, close } = await connectClient(settings);
    const workflowId = `${spec.name}/live`;
    const input: LiveInput = { dataset: spec.name, windowMs: values["window-ms"], sweepEveryMs: values["sweep-every-ms"], sweepDays: values["sweep-days"], maxHistoryEvents: values["max-history-events"] };
    // A signal is recorded by the server whether or not a worker runs; the workflow starts if it is not running.
    const deliver: DeliverArrivals = async (arrivals) => {
      await client.workflow.signalWithStart(liveV1, {
        workflowId,
        taskQueue: settings.taskQueue,
        args: [input],
        signal: arriveSignal,
        signalArgs: [arrivals],
        staticSummary: `live arrivals of ${spec.name}`,
        typedSearchAttributes: searchAttributesOf(spec.name, "live", "live"),
      });
    };
    const log = (message: string): void => console.error(`listen: ${message}`);
    const stopped = new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    if (queueUrl !== undefined) {
      const sqs = createSqsClient({ queueUrl, protocol: values["sqs-protocol"], ...(values["sqs-region"] ? { region: values["sqs-region"] } : {}) });
      const poller = startSqsPoller({ spec, client: sqs, queueUrl, deliver, log });
      console.error(`polling ${queueUrl} for ${spec.name} (s3://${spec.source.storage.bucket}/): arrivals go to workflow ${workflowId} on ${settings.describe()}`);
      let failure: Error | undefined;
      await Promise.race([stopped, poller.done.catch((error: Error) => void (failure = error))]);
      await poller.stop();
      sqs.destroy();
      await close();
      const c = poller.counts;
      console.error(`listen stopped: ${c.receives} receives, ${c.messages} messages, ${c.delivered} arrivals handed on, ${c.outsideTemplate} outside the template, ${c.ignored} other records, ${c.unparseable} unparseable, ${c.failedDeliveries} failed deliveries, ${c.deleted} deleted`);
      if (failure) {
        console.error(`error: ${failure.message}`);
        return 1;
      }
      return 0;
    }
    const listener = await startListener({
      spec,
      host: values.host,
      port: values.port,
      ...(process.env.TK_LISTEN_TOKEN ? { authToken: process.env.TK_LISTEN_TOKEN } : {}),
      ...(topicArns.length > 0 ? { sns: { topicArns } } : {}),
      log,
      deliver,
    });
    console.error(`listening on ${listener.url} for ${spec.name} (s3://${spec.source.storage.bucket}/): arrivals go to workflow ${workflowId} on ${settings.describe()}`);
    await stopped;
    await listener.close();
    await close();
    const c = listener.counts;
    console.error(`listen stopped: ${c.requests} requests, ${c.delivered} arrivals handed on, ${c.outsideTemplate} outside the template, ${c.ignored} other records, ${c.refused} refused`);
    return 0;
  },
};
