/**
 * The upgrade workflow end to end: real dev server, real Worker, real activities over real SSH to
 * the lab; the lab's own invariant check is the judge.
 */
import type { Client } from '@temporalio/client';
import { stateQuery } from '../../src/shared/messages';
import { upgradeWorkflowId, WORKFLOW_TYPES } from '../../src/shared/names';
import type { UpgradeInput, UpgradeResult } from '../../src/shared/types';
import { loadInventory } from '../../src/inventory';
import { readFileSync } from 'node:fs';
import type { WorkflowHandle } from '@temporalio/client';
import { saveHistory } from '../helpers/histories';
import { Lab, repeatedMutations } from '../helpers/lab';
import { client, startWorker, uniqueQueue } from '../helpers/temporal';

jest.setTimeout(10 * 60_000);

async function runUpgrade(c: Client, lab: Lab, target: string, queue: string, maxUnavailable = 1) {
  const inventory = loadInventory(lab.inventory);
  const input: UpgradeInput = {
    inventory,
    target,
    options: { autoApprove: true, maxUnavailable, startedBy: 'jest' },
  };
  const handle = await c.workflow.start(WORKFLOW_TYPES.upgrade, {
    taskQueue: queue,
    workflowId: upgradeWorkflowId(inventory.metadata.name),
    args: [input],
    workflowIdConflictPolicy: 'FAIL',
  });
  const result = (await handle.result()) as UpgradeResult;
  return { handle, result, inventory };
}

/** Saves the parent's history and its first node child's; returns all JSON text for secret scans. */
async function saveRun(c: Client, handle: WorkflowHandle, name: string): Promise<string> {
  const parentJson = await saveHistory(handle, `${name}-parent`);
  const history = await handle.fetchHistory();
  const child = history.events?.find((e) => e.childWorkflowExecutionStartedEventAttributes)
    ?.childWorkflowExecutionStartedEventAttributes?.workflowExecution?.workflowId;
  const childJson = child ? await saveHistory(c.workflow.getHandle(child), `${name}-node`) : '';
  return parentJson + childJson;
}

/** Lines of the private key's body: none may appear in any history. */
function keyMaterial(keyPath: string): string[] {
  return readFileSync(keyPath, 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('-----'))
    .map((l) => l.trim());
}

describe('upgrade of a lab cluster over real SSH', () => {
  let c: Client;
  let closeClient: () => Promise<void>;
  const labs: Lab[] = [];

  beforeAll(async () => {
    ({ client: c, close: closeClient } = await client());
  });
  afterAll(async () => {
    for (const l of labs) l.down();
    await closeClient();
  });

  it('3 control planes + 3 workers, yum, 1.29 → 1.30, one node cordoned by someone else', async () => {
    const lab = Lab.up({
      controlPlanes: 3,
      workers: 3,
      version: '1.29.6',
      packages: 'yum',
      extra: ['--cordoned', 'w-3'],
    });
    labs.push(lab);
    const queue = uniqueQueue('it-yum');
    const worker = await startWorker(queue, lab);
    try {
      const { result, handle } = await runUpgrade(c, lab, '1.30', queue);
      expect(result.phase).toBe('done');
      const state = await handle.query(stateQuery);
      expect(state.phase).toBe('done');
      const target = state.hops.at(-1)!.version;
      expect(target).toMatch(/^v1\.30\.\d+$/);
      // w-3 was cordoned before the run: the run upgrades it but leaves it cordoned.
      const w3 = state.nodes.find((n) => n.name === 'w-3')!;
      expect(w3.cordonedBefore).toBe(true);
      const last = lab
        .events()
        .filter((e) => e.type === 'state' && e.node === 'w-3')
        .at(-1)!;
      expect(last.unschedulable).toBe(true);
      const check = lab.check(target, 1);
      expect(check.stderr + check.stdout).not.toMatch(/FAIL|violation/i);
      expect(check.status).toBe(0);
      expect(repeatedMutations(lab.events())).toEqual([]);
      // No secret in history: the key's path may appear, its content never.
      const histories = await saveRun(c, handle, 'yum-3cp-3w-1.29-1.30');
      expect(histories).not.toMatch(/PRIVATE KEY/);
      for (const line of keyMaterial(loadInventory(lab.inventory).ssh.privateKeyPath)) {
        expect(histories).not.toContain(line);
      }
    } finally {
      await worker.stop();
    }
  });

  it('1 control plane + 2 workers, apt, 1.28 → 1.30 in two hops', async () => {
    const lab = Lab.up({ controlPlanes: 1, workers: 2, version: '1.28.9', packages: 'apt' });
    labs.push(lab);
    const queue = uniqueQueue('it-apt');
    const worker = await startWorker(queue, lab);
    try {
      const { result, handle } = await runUpgrade(c, lab, '1.30', queue, 1);
      expect(result.phase).toBe('done');
      const state = await handle.query(stateQuery);
      expect(state.hops.map((h) => h.minor)).toEqual(['1.29', '1.30']);
      const target = state.hops.at(-1)!.version;
      const check = lab.check(target, 1);
      expect(check.status).toBe(0);
      // apply ran exactly once per hop, on the first control plane only.
      const applies = lab
        .events()
        .filter(
          (e) =>
            e.type === 'exec' && e.exit === 0 && /^kubeadm upgrade apply (?!.*--dry-run)/.test(e.cmd ?? ''),
        );
      expect(applies.map((e) => e.node)).toEqual(['cp-1', 'cp-1']);
      await saveRun(c, handle, 'apt-1cp-2w-1.28-1.30');
    } finally {
      await worker.stop();
    }
  });
});
