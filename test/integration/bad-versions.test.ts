/**
 * Bad targets against a real lab: each is refused with a message that names the problem, before
 * any change — the lab's exec log shows no mutating command afterwards.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { loadInventory } from '../../src/inventory';
import { upgradeWorkflowId, WORKFLOW_TYPES } from '../../src/shared/names';
import type { UpgradeInput } from '../../src/shared/types';
import { isMutating, Lab } from '../helpers/lab';
import { client, startWorker, uniqueQueue } from '../helpers/temporal';

jest.setTimeout(5 * 60_000);

describe('bad target versions on a lab', () => {
  let lab: Lab;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  let c: Awaited<ReturnType<typeof client>>;
  const queue = uniqueQueue('badver');

  beforeAll(async () => {
    lab = Lab.up({ controlPlanes: 1, workers: 1, version: '1.29.6', packages: 'yum' });
    worker = await startWorker(queue, lab);
    c = await client();
  });
  afterAll(async () => {
    await worker?.stop();
    await c?.close();
    lab?.down();
  });

  it.each([
    ['1.28', /downgrade/i],
    ['1.29.3', /downgrade|lower/i],
    ['1.30.999', /1\.30\.999 .*(not found|not available|not in the \w+ repository|missing)/i],
    ['1.45', /hops|not found|not available|missing/i],
  ])('target %s is refused before any change', async (target, message) => {
    const inventory = loadInventory(lab.inventory);
    const input: UpgradeInput = { inventory, target, options: { autoApprove: true } };
    const handle = await c.client.workflow.start(WORKFLOW_TYPES.upgrade, {
      taskQueue: queue,
      workflowId: `${upgradeWorkflowId(inventory.metadata.name)}-${target}`,
      args: [input],
      workflowIdConflictPolicy: 'FAIL',
    });
    const err = await handle.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause;
    expect(cause?.message).toMatch(message);
    const mutations = lab.events().filter((e) => e.type === 'exec' && e.cmd && isMutating(e.cmd));
    expect(mutations).toEqual([]);
  });
});
