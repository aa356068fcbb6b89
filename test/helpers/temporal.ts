/** Real-server helpers for integration tests: a client, a worker on its own task queue. */
import { Client, Connection } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { createWorker } from '../../src/worker';

export function address(): string {
  const a = process.env.TEMPORAL_ADDRESS;
  if (!a) throw new Error('TEMPORAL_ADDRESS is not set: the jest global setup must start the dev server');
  return a;
}

export async function client(): Promise<{ client: Client; close: () => Promise<void> }> {
  const connection = await Connection.connect({ address: address() });
  return { client: new Client({ connection }), close: () => connection.close() };
}

export function uniqueQueue(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/**
 * An in-process worker with the real activities (real SSH) on `taskQueue`. `trust` is its worker
 * config: a lab (its DIR/worker.yaml, written by `kupgrade-lab up`) or a file path; without one the
 * worker refuses every cluster.
 */
export async function startWorker(
  taskQueue: string,
  trust?: { dir: string } | string,
  o: { readyTimeoutMs?: number } = {},
) {
  const w = await createWorker({
    address: address(),
    taskQueue,
    pollIntervalMs: 100,
    readyTimeoutMs: o.readyTimeoutMs,
    trust: typeof trust === 'object' ? path.join(trust.dir, 'worker.yaml') : trust,
  });
  const running = w.worker.run();
  return {
    ...w,
    async stop() {
      w.worker.shutdown();
      await running;
      await w.close();
    },
  };
}
