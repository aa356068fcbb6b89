/**
 * Issue 12 item 1: the seed runbook's own repository. The lab starts from the legacy aliyun el7
 * repo file (`kupgrade-lab up --legacy-repo`: no `/vX.Y/`, `1.28.2-0`, frozen since 2023-09-13,
 * http://). The inventory names aliyun's new per-minor mirror (`kubernetes-new/core/stable/v{minor}/rpm/`).
 * `kupgrade plan` must say the repository is legacy and resolve the target from the repository that
 * will be used after the switch; the run must migrate the repo file (https, gpgcheck, the new key)
 * and upgrade end to end, judged by `kupgrade-lab check`.
 */
import type { Client } from '@temporalio/client';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadInventory } from '../../src/inventory';
import { stateQuery } from '../../src/shared/messages';
import { upgradeWorkflowId, WORKFLOW_TYPES } from '../../src/shared/names';
import type { UpgradeInput, UpgradePlan, UpgradeResult } from '../../src/shared/types';
import { kupgrade } from '../helpers/cli';
import { Lab } from '../helpers/lab';
import { client, startWorker, uniqueQueue } from '../helpers/temporal';

jest.setTimeout(10 * 60_000);

describe('the seed runbook repository (legacy aliyun el7)', () => {
  let c: Client;
  let closeClient: () => Promise<void>;
  let lab: Lab;

  beforeAll(async () => {
    ({ client: c, close: closeClient } = await client());
    lab = Lab.up({
      controlPlanes: 1,
      workers: 1,
      version: '1.28.2',
      packages: 'yum',
      extra: ['--legacy-repo'],
    });
  });
  const labs: Lab[] = [];
  afterAll(async () => {
    lab?.down();
    for (const l of labs) l.down();
    await closeClient();
  });

  it('plan says legacy, resolves 1.29 from the new mirror; the run migrates the repo file and ends done', async () => {
    const repoFile = (node: string) =>
      readFileSync(path.join(lab.dir, 'nodes', node, 'etc/yum.repos.d/kubernetes.repo'), 'utf8');
    expect(repoFile('w-1')).toContain(
      'baseurl=http://mirrors.aliyun.com/kubernetes/yum/repos/kubernetes-el7-x86_64',
    );
    const queue = uniqueQueue('it-legacy');
    const before = process.env.KUPGRADE_TASK_QUEUE;
    process.env.KUPGRADE_TASK_QUEUE = queue;
    const worker = await startWorker(queue, lab);
    try {
      const planned = await kupgrade('plan', '-f', lab.inventory, '--to', '1.29', '-o', 'json');
      expect(planned.stderr).toBe('');
      const plan = JSON.parse(planned.stdout) as UpgradePlan;
      expect(plan.refused).toBeUndefined();
      expect(plan.resolvedTarget).toMatch(/^v1\.29\.\d+$/);
      // the packages come from the per-minor repository, not the frozen one (`-0`)
      expect(plan.hops[0].hop.packages.kubeadm).toMatch(/^1\.29\.\d+-150500\.1\.1$/);
      const legacy = plan.preflight?.checks.find((x) => x.name === 'repository');
      expect(legacy?.status).toBe('warn');
      expect(legacy?.message).toMatch(/legacy/);
      expect(legacy?.message).toContain('https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.29/rpm/');
      const text = await kupgrade('plan', '-f', lab.inventory, '--to', '1.29');
      expect(text.stdout).toMatch(/repository\s+.*WARN\s+.*legacy/);
      // plan is read-only: the repo file is untouched
      expect(repoFile('cp-1')).toContain('kubernetes-el7-x86_64');

      const inventory = loadInventory(lab.inventory);
      const input: UpgradeInput = {
        inventory,
        target: '1.29',
        options: { autoApprove: true, maxUnavailable: 1, startedBy: 'jest' },
      };
      const handle = await c.workflow.start(WORKFLOW_TYPES.upgrade, {
        taskQueue: queue,
        workflowId: upgradeWorkflowId(inventory.metadata.name),
        args: [input],
        workflowIdConflictPolicy: 'FAIL',
      });
      const result = (await handle.result()) as UpgradeResult;
      expect(result.phase).toBe('done');
      const state = await handle.query(stateQuery);
      const target = state.hops.at(-1)!.version;
      expect(target).toBe(plan.resolvedTarget);
      const check = lab.check(target, 1);
      expect(check.stderr + check.stdout).not.toMatch(/FAIL|violation/i);
      expect(check.status).toBe(0);
      for (const node of ['cp-1', 'w-1']) {
        const migrated = repoFile(node);
        expect(migrated).toContain(
          'baseurl=https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.29/rpm/',
        );
        expect(migrated).toContain('gpgcheck=1');
        expect(migrated).toContain(
          'gpgkey=https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.29/rpm/repodata/repomd.xml.key',
        );
        expect(migrated).not.toContain('http://');
      }
    } finally {
      await worker.stop();
      if (before === undefined) delete process.env.KUPGRADE_TASK_QUEUE;
      else process.env.KUPGRADE_TASK_QUEUE = before;
    }
  });
  it('apt: apt.kubernetes.io (kubernetes-xenial, -00) to 1.30 in two hops, each minor key in the kept keyring', async () => {
    const apt = Lab.up({
      controlPlanes: 1,
      workers: 1,
      version: '1.28.1',
      packages: 'apt',
      extra: ['--legacy-repo'],
    });
    labs.push(apt);
    const list = (node: string) =>
      readFileSync(path.join(apt.dir, 'nodes', node, 'etc/apt/sources.list.d/kubernetes.list'), 'utf8');
    expect(list('w-1')).toContain('https://apt.kubernetes.io/ kubernetes-xenial main');
    const queue = uniqueQueue('it-legacy-apt');
    const worker = await startWorker(queue, apt);
    try {
      const inventory = loadInventory(apt.inventory);
      const handle = await c.workflow.start(WORKFLOW_TYPES.upgrade, {
        taskQueue: queue,
        workflowId: upgradeWorkflowId(inventory.metadata.name),
        args: [
          { inventory, target: '1.30', options: { autoApprove: true, maxUnavailable: 1, startedBy: 'jest' } },
        ],
        workflowIdConflictPolicy: 'FAIL',
      });
      const result = (await handle.result()) as UpgradeResult;
      expect(result.phase).toBe('done');
      const state = await handle.query(stateQuery);
      expect(state.hops.map((h) => h.minor)).toEqual(['1.29', '1.30']);
      const target = state.hops.at(-1)!.version;
      const check = apt.check(target, 1);
      expect(check.stderr + check.stdout).not.toMatch(/FAIL|violation/i);
      expect(check.status).toBe(0);
      for (const node of ['cp-1', 'w-1']) {
        expect(list(node)).toContain(
          'deb [signed-by=/etc/apt/keyrings/kubernetes-archive-keyring.gpg] https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.30/deb/ /',
        );
        const ring = readFileSync(
          path.join(apt.dir, 'nodes', node, 'etc/apt/keyrings/kubernetes-archive-keyring.gpg'),
          'utf8',
        );
        expect(ring).toContain('DE15B14486CD377B9E876E1A234654DA9A29641E');
      }
    } finally {
      await worker.stop();
    }
  });
});
