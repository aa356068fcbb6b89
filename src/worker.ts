/**
 * The kupgrade worker: runs the workflows and the node activities. It is the only process that
 * reads SSH keys: from the paths its own worker config grants each cluster (src/worker-config.ts,
 * `--config` / KUPGRADE_WORKER_CONFIG), never from a workflow's input. Connection settings come from
 * @temporalio/envconfig like the `temporal` CLI; SIGINT/SIGTERM shut it down gracefully (running
 * activities get the shutdown grace time, then Temporal retries them on another worker).
 */
import {
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
  type LogLevel,
  type WorkerOptions,
} from '@temporalio/worker';
import { createNodeActivities } from './activities';
import { SshRouter } from './ssh/router';
import type { SshPoolConfig } from './ssh/types';
import { temporalSettings } from './temporal/connection';
import { loadWorkerConfig, workerConfigPath, type TrustConfig } from './worker-config';
import { WorkerTrust } from './worker-trust';

export interface WorkerConfig {
  address?: string;
  namespace?: string;
  profile?: string;
  taskQueue?: string;
  /** Pool limits (and an `observe` hook) shared by every cluster's pool. */
  ssh?: Partial<SshPoolConfig>;
  /** Activity tuning (poll intervals). */
  pollIntervalMs?: number;
  /** How long wait-ready waits for a node to be Ready after the kubelet restart (default 10 min). */
  readyTimeoutMs?: number;
  /** How long verify waits for kube-system to settle after the last node (default 5 min). */
  verifyTimeoutMs?: number;
  workerOptions?: Partial<WorkerOptions>;
  /**
   * The worker config (clusters, their SSH credentials, what their inventories may ask, approvers):
   * a file path, or an already-loaded config. Default: KUPGRADE_WORKER_CONFIG. Without one the
   * worker refuses every cluster with an error that names the fix.
   */
  trust?: string | TrustConfig;
}

export async function createWorker(config: WorkerConfig = {}) {
  const settings = temporalSettings(config);
  const trustPath = typeof config.trust === 'string' ? config.trust : workerConfigPath();
  const trust = new WorkerTrust(
    typeof config.trust === 'object' ? config.trust : trustPath ? loadWorkerConfig(trustPath) : undefined,
  );
  const connection = await NativeConnection.connect(settings.connectionOptions);
  // A node's connection stays open from preflight to its turn in the window (minutes later in a
  // large rollout) instead of a new handshake per phase; the pool's cap still bounds the total.
  const ssh = new SshRouter({ maxConnections: 256, idleTimeoutMs: 10 * 60_000, ...config.ssh }, (input) =>
    trust.admit(input),
  );
  const activities = ssh.wrap(
    createNodeActivities({
      ssh,
      pollIntervalMs: config.pollIntervalMs,
      readyTimeoutMs: config.readyTimeoutMs,
      trust,
      verifyTimeoutMs: config.verifyTimeoutMs,
    }),
  );
  const worker = await Worker.create({
    connection,
    namespace: settings.namespace,
    taskQueue: config.taskQueue ?? settings.taskQueue,
    workflowsPath: require.resolve('./workflows'),
    activities,
    maxConcurrentActivityTaskExecutions: 200,
    maxConcurrentWorkflowTaskExecutions: 50,
    shutdownGraceTime: '10 seconds',
    ...config.workerOptions,
  });
  return {
    worker,
    settings,
    async close() {
      await ssh.close();
      await connection.close();
    },
  };
}

export async function runWorker(config: WorkerConfig = {}): Promise<void> {
  const level = (process.env.KUPGRADE_LOG_LEVEL ?? 'INFO').toUpperCase() as LogLevel;
  Runtime.install({ logger: new DefaultLogger(level) });
  const { worker, settings, close } = await createWorker({
    pollIntervalMs: process.env.KUPGRADE_POLL_MS ? Number(process.env.KUPGRADE_POLL_MS) : undefined,
    readyTimeoutMs: process.env.KUPGRADE_READY_TIMEOUT_MS
      ? Number(process.env.KUPGRADE_READY_TIMEOUT_MS)
      : undefined,
    verifyTimeoutMs: process.env.KUPGRADE_VERIFY_TIMEOUT_MS
      ? Number(process.env.KUPGRADE_VERIFY_TIMEOUT_MS)
      : undefined,
    ...config,
  });
  const stop = () => worker.shutdown();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const trustFile = typeof config.trust === 'string' ? config.trust : workerConfigPath();
  if (!trustFile && typeof config.trust !== 'object')
    console.error(
      'kupgrade worker: no worker config (--config FILE or KUPGRADE_WORKER_CONFIG): every cluster will be refused; see docs/operations.md, "The worker config"',
    );
  console.error(
    `kupgrade worker: task queue ${worker.options.taskQueue} on ${settings.connectionOptions.address} (namespace ${settings.namespace})`,
  );
  try {
    await worker.run();
  } finally {
    await close();
  }
}

if (require.main === module) {
  runWorker().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
