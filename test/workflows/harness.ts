/** Shared set-up of the workflow tests: one bundle, real dev server, a Worker per test with a fake cluster. */
import { randomUUID } from 'node:crypto';
import { Client, Connection, WorkflowHandle, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import {
  NativeConnection,
  Worker,
  bundleWorkflowCode,
  type WorkerOptions,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { SA_CLUSTER, SA_TARGET, summaryFor, upgradeWorkflowId } from '../../src/shared/names';
import type { UpgradeInput, UpgradeState } from '../../src/shared/types';
import { stateQuery } from '../../src/shared/messages';
import type { upgradeCluster } from '../../src/workflows';
import type { FakeCluster } from './fake-cluster';

export interface Harness {
  client: Client;
  nativeConnection: NativeConnection;
  bundle: WorkflowBundleWithSourceMap;
  close(): Promise<void>;
}

export async function setUp(): Promise<Harness> {
  const address = process.env.TEMPORAL_ADDRESS;
  if (!address) throw new Error('TEMPORAL_ADDRESS is not set: the jest global setup starts the dev server');
  const namespace = process.env.TEMPORAL_NAMESPACE ?? 'default';
  const nativeConnection = await NativeConnection.connect({ address });
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace });
  const bundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('../../src/workflows'),
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
  });
  return {
    client,
    nativeConnection,
    bundle,
    async close() {
      await connection.close();
      await nativeConnection.close();
    },
  };
}

export function uniqueCluster(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** Runs `fn` while a Worker with the fake's activities (and `options`) serves a fresh task queue. */
export async function withWorker<T>(
  h: Harness,
  fake: FakeCluster,
  fn: (taskQueue: string) => Promise<T>,
  options: Partial<WorkerOptions> = {},
): Promise<T> {
  const taskQueue = `wf-test-${randomUUID()}`;
  const worker = await Worker.create({
    connection: h.nativeConnection,
    namespace: process.env.TEMPORAL_NAMESPACE ?? 'default',
    taskQueue,
    workflowBundle: h.bundle,
    activities: fake.activities(),
    ...options,
  });
  return worker.runUntil(fn(taskQueue));
}

export async function startUpgrade(
  h: Harness,
  taskQueue: string,
  input: UpgradeInput,
): Promise<WorkflowHandle<typeof upgradeCluster>> {
  return h.client.workflow.start<typeof upgradeCluster>('upgradeCluster', {
    taskQueue,
    workflowId: upgradeWorkflowId(input.inventory.metadata.name),
    workflowIdConflictPolicy: 'FAIL',
    args: [input],
    staticSummary: summaryFor(input),
    typedSearchAttributes: [
      { key: SA_CLUSTER, value: input.inventory.metadata.name },
      { key: SA_TARGET, value: input.target },
    ],
  });
}

export async function state(handle: WorkflowHandle): Promise<UpgradeState> {
  return handle.query(stateQuery);
}

/** Polls the state query until `pred` holds. */
export async function waitFor(
  handle: WorkflowHandle,
  pred: (s: UpgradeState) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<UpgradeState> {
  const deadline = Date.now() + timeoutMs;
  let last: UpgradeState | undefined;
  while (Date.now() < deadline) {
    try {
      last = await state(handle);
      if (pred(last)) return last;
    } catch {
      // the first workflow task may not have run yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(
    `timed out waiting for ${what}; last state: ${JSON.stringify(last && { phase: last.phase, gate: last.gate, blocked: last.blocked })}`,
  );
}

/** The ApplicationFailure type of a rejected update. */
export async function rejection(p: Promise<unknown>): Promise<{ type?: string; message: string }> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
    const cause = (err as WorkflowUpdateFailedError).cause;
    if (cause instanceof ApplicationFailure) return { type: cause.type ?? undefined, message: cause.message };
    return { message: String(cause) };
  }
  throw new Error('the update was accepted, expected a rejection');
}
