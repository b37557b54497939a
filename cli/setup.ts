import { optional, text } from "../lib/settings/schema.js";
import { deploymentStatus, describeDeployment } from "../worker/deployment.js";
import { prepareNamespace } from "../worker/namespace.js";
import { parseCommandLine } from "./args.js";
import { connectClient, temporalOptions, temporalOptionsHelp, temporalSettings } from "./connection.js";

const help = `usage: temporal-kerchunk setup [--namespace ns] [--address host:port] [--profile NAME] [TLS flags]
                               [--deployment-name NAME]

Makes a namespace ready for the backfill workflows: adds the custom search attributes they set
(TkDataset, TkPeriod, TkLevel, TkStatus, all Keyword) where missing, and says what it added and
what it found. Safe to run again: a ready namespace is left as it is. The namespace itself must
exist ('temporal operator namespace create --namespace ns'; on Temporal Cloud, the Cloud UI or tcld,
where search attributes are added the same way if this command is not allowed to).
With --deployment-name (workers run with Worker Versioning, 'worker --deployment-name --build-id'):
also checks that the namespace allows Worker Deployment Versions (the server's dynamic config
system.enableDeploymentVersions) and says where that deployment stands: its versions, the current
one, and the command that makes a version current. Nothing else needs setting up for versioning.
${temporalOptionsHelp}`;

export const setupCommand = {
  summary: "make a namespace ready (search attributes)",
  async run(args: string[]): Promise<number> {
    const line = parseCommandLine("setup", args, { ...temporalOptions, "deployment-name": optional(text({ nonEmpty: true })) });
    if (line.help) {
      console.log(help);
      return 0;
    }
    const settings = temporalSettings(line.values);
    const { connection, close } = await connectClient(settings);
    try {
      const { created, found } = await prepareNamespace(connection, settings.namespace);
      const said = [
        created.length ? `added search attributes ${created.join(", ")} (Keyword)` : undefined,
        found.length ? `found ${found.join(", ")}` : undefined,
      ].filter((part) => part !== undefined);
      console.log(`namespace ${settings.namespace} on ${settings.address}: ${said.join("; ")}; ready`);
      const deploymentName = line.values["deployment-name"];
      if (deploymentName !== undefined) console.log(describeDeployment(deploymentName, await deploymentStatus(connection, settings.namespace, deploymentName)));
      return 0;
    } finally {
      await close();
    }
  },
};
