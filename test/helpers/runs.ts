/**
 * A run seen from outside, shared by the end-to-end tests that drive one through the CLI
 * (test/failure-paths, test/integration): a lab (test/helpers/lab.ts, which also reads its ground
 * truth), a real worker on its own task queue (with a short wait-ready timeout) and the CLI's view
 * of the run (`kupgrade status -o json`).
 */
import { loadInventory } from '../../src/inventory';
import { kupgrade } from './cli';
import { Lab, type LabOptions } from './lab';
import { startWorker, uniqueQueue } from './temporal';

export interface BlockedEntry {
  node?: string;
  step: string;
  type: string;
  message: string;
  command?: string;
  outputTail?: string;
  hints: string[];
  attempt: number;
}

export interface RunState {
  phase: string;
  stage: string;
  blocked: BlockedEntry[];
  failures: (BlockedEntry & { resolution?: string })[];
  nodes: {
    name: string;
    status: string;
    step?: string;
    version?: string;
    cordonedByRun: boolean;
    cordonedBefore: boolean;
  }[];
  hops: { version: string }[];
}

export async function status(cluster: string): Promise<RunState | undefined> {
  const r = await kupgrade('status', cluster, '-o', 'json');
  if (r.code !== 0) return undefined;
  try {
    return JSON.parse(r.stdout) as RunState;
  } catch {
    return undefined;
  }
}

/**
 * Polls `kupgrade status` until `pred` holds. The deadline only turns a hung run into a readable
 * failure (with the last state seen); no assertion depends on how long anything took.
 */
export async function until(
  cluster: string,
  pred: (s: RunState) => boolean,
  what: string,
  timeoutMs = 240_000,
): Promise<RunState> {
  const deadline = Date.now() + timeoutMs;
  let last: RunState | undefined;
  for (;;) {
    last = await status(cluster);
    if (last && pred(last)) return last;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/**
 * `kupgrade start -f INVENTORY --to 1.30 --max-unavailable 1`, auto-approved unless the test
 * approves the gates itself; throws unless it exits 0.
 */
export async function startRun(
  inventory: string,
  to = '1.30',
  o: { autoApprove?: boolean } = {},
): Promise<void> {
  const approve = (o.autoApprove ?? true) ? ['--auto-approve'] : [];
  const r = await kupgrade('start', '-f', inventory, '--to', to, ...approve, '--max-unavailable', '1');
  if (r.code !== 0) throw new Error(`kupgrade start exited ${r.code}: ${r.stderr}`);
}

export interface Setup {
  lab: Lab;
  cluster: string;
  queue: string;
  stop(): Promise<void>;
}

/**
 * A lab and a worker; the CLI finds the worker's queue through KUPGRADE_TASK_QUEUE. `configure`
 * edits the lab's worker config (DIR/worker.yaml) before the worker reads it.
 */
export async function setUp(
  prefix: string,
  o: LabOptions,
  worker: { readyTimeoutMs?: number; configure?: (lab: Lab, cluster: string) => void } = {},
): Promise<Setup> {
  const queue = uniqueQueue(prefix);
  process.env.KUPGRADE_TASK_QUEUE = queue;
  const lab = Lab.up(o);
  const cluster = loadInventory(lab.inventory).metadata.name;
  worker.configure?.(lab, cluster);
  const w = await startWorker(queue, lab, worker);
  return {
    lab,
    cluster,
    queue,
    async stop() {
      await w.stop();
      lab.down();
      delete process.env.KUPGRADE_TASK_QUEUE;
    },
  };
}
