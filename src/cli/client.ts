/** The CLI's view of Temporal: one client, the cluster's upgrade handle, and errors mapped to fixes. */
import {
  Client,
  Connection,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type WorkflowHandle,
} from '@temporalio/client';
import { stateQuery } from '../shared/messages';
import { upgradeWorkflowId } from '../shared/names';
import type { UpgradeState } from '../shared/types';
import { temporalSettings, type TemporalSettings } from '../temporal/connection';
import { str, type Parsed } from './args';
import { CommandError } from './usage';

export interface Cli {
  client: Client;
  settings: TemporalSettings;
  close(): Promise<void>;
}

/**
 * Who this CLI acts as: --by, else KUPGRADE_IDENTITY, else $USER. It is both the Temporal client's
 * identity (the server records it on every start, Update and signal of this client) and the `by`
 * of the request, which the workflow checks against the cluster's approvers. The workflow cannot
 * see the caller's identity itself: binding a name to a person is the namespace authorizer's job
 * (mTLS or API keys, docs/operations.md "Who may approve").
 */
export function identityOf(p: Parsed): string {
  return str(p, 'by') ?? (process.env.KUPGRADE_IDENTITY || undefined) ?? process.env.USER ?? 'unknown';
}

async function connect(p: Parsed): Promise<Cli> {
  const settings = temporalSettings({
    address: str(p, 'address'),
    namespace: str(p, 'namespace'),
    profile: str(p, 'profile'),
  });
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...settings.connectionOptions, connectTimeout: 5000 });
  } catch (err) {
    throw new CommandError(
      `cannot reach the Temporal server at ${settings.connectionOptions.address}: ${(err as Error).message}\n` +
        `Start one with 'kupgrade server' (or 'npm run server'), or set TEMPORAL_ADDRESS / --address.`,
    );
  }
  const client = new Client({ connection, namespace: settings.namespace, identity: identityOf(p) });
  return { client, settings, close: () => connection.close() };
}

/** Connects, runs `fn`, closes; SDK errors become messages about `cluster` (see explain). */
export async function withCli<T>(p: Parsed, fn: (cli: Cli) => Promise<T>, cluster?: string): Promise<T> {
  const cli = await connect(p);
  try {
    return await fn(cli);
  } catch (err) {
    throw explain(err, cluster);
  } finally {
    await cli.close();
  }
}

export function upgradeHandle(cli: Cli, cluster: string): WorkflowHandle {
  return cli.client.workflow.getHandle(upgradeWorkflowId(cluster));
}

export function upgradeState(cli: Cli, cluster: string): Promise<UpgradeState> {
  return upgradeHandle(cli, cluster).query(stateQuery);
}

/** Turns SDK errors into messages an operator can act on. */
function explain(err: unknown, cluster?: string): Error {
  if (err instanceof WorkflowNotFoundError && /already completed/i.test(err.message)) {
    return new CommandError(
      `the upgrade of cluster "${cluster}" has already finished: nothing to decide ('kupgrade history ${cluster}' shows how it ended)`,
    );
  }
  if (err instanceof WorkflowNotFoundError) {
    return new CommandError(
      `no upgrade found for cluster "${cluster}" (workflow ${cluster ? upgradeWorkflowId(cluster) : '?'}); ` +
        `'kupgrade list' shows the upgrades this server knows`,
    );
  }
  if (err instanceof WorkflowUpdateFailedError) {
    const cause = err.cause as Error | undefined;
    return new CommandError(`refused: ${cause?.message ?? err.message}`);
  }
  return err instanceof Error ? err : new Error(String(err));
}
