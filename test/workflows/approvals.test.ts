/**
 * Approvals checked against the cluster's approval policy. The policy comes from the
 * worker config through checkUpgradeInput (here the fake cluster's answer), never from the input
 * it approves; the `approve` Update's validator enforces it, so a refused approval leaves no trace
 * in the history and the run is unaffected. Real dev server, real Worker, fake cluster.
 */
import { Worker } from '@temporalio/worker';
import { ErrorType } from '../../src/shared/errors';
import { approveSignal, approveUpdate } from '../../src/shared/messages';
import type { UpgradeInput } from '../../src/shared/types';
import { FakeCluster, makeInventory } from './fake-cluster';
import { rejection, setUp, startUpgrade, uniqueCluster, waitFor, withWorker, type Harness } from './harness';

jest.setTimeout(300_000);

let h: Harness;
beforeAll(async () => {
  h = await setUp();
}, 120_000);
afterAll(async () => {
  await h?.close();
});

describe('approvals with a policy from the worker config', () => {
  it('refuses a non-approver, the starter, a missing comment, an oversized payload; a valid approval proceeds', async () => {
    const inp: UpgradeInput = {
      inventory: makeInventory(uniqueCluster('approvals'), 1, 1),
      target: '1.30',
      options: { gates: ['preflight'], startedBy: 'alice' },
    };
    const fake = new FakeCluster(inp.inventory, 'v1.29.10');
    fake.approvals = {
      approvers: ['alice', 'bob'],
      requireComment: true,
      distinctFromStarter: true,
      allowAutoApprove: false,
    };
    const { result, refusals, workflowId } = await withWorker(h, fake, async (tq) => {
      const handle = await startUpgrade(h, tq, inp);
      await waitFor(handle, (x) => x.gate?.name === 'preflight', 'preflight gate');
      const attempt = (req: Record<string, unknown>) =>
        rejection(handle.executeUpdate(approveUpdate, { args: [req as never] }));
      const out = {
        nonApprover: await attempt({ gate: 'preflight', by: 'mallory', comment: 'CAB-1' }),
        noIdentity: await attempt({ gate: 'preflight', comment: 'CAB-1' }),
        starter: await attempt({ gate: 'preflight', by: 'alice', comment: 'CAB-1' }),
        noComment: await attempt({ gate: 'preflight', by: 'bob' }),
        blankComment: await attempt({ gate: 'preflight', by: 'bob', comment: '   ' }),
        oversized: await attempt({ gate: 'preflight', by: 'bob', comment: 'x'.repeat(100_000) }),
        longName: await attempt({ gate: 'preflight', by: 'b'.repeat(500), comment: 'CAB-1' }),
        extraField: await attempt({ gate: 'preflight', by: 'bob', comment: 'CAB-1', as: 'root' }),
      };
      // A signal has no validator: it is recorded and refused, whoever it claims to be.
      await handle.signal(approveSignal, { gate: 'preflight', by: 'bob', comment: 'CAB-1' });
      const s = await waitFor(handle, (x) => x.ignoredSignals.length === 1, 'the refused signal');
      // The run is unaffected: still at the gate, nothing approved, nothing changed.
      expect(s.gate?.name).toBe('preflight');
      expect(s.approvals).toEqual([]);
      expect(s.approvalPolicy).toMatchObject({ approvers: ['alice', 'bob'] });
      expect(fake.count('backupControlPlane')).toBe(0);
      const rec = await handle.executeUpdate(approveUpdate, {
        args: [{ gate: 'preflight', by: 'bob', comment: 'CAB-1234' }],
      });
      expect(rec).toMatchObject({ gate: 'preflight', by: 'bob', comment: 'CAB-1234', via: 'update' });
      return { result: await handle.result(), refusals: out, workflowId: handle.workflowId };
    });
    expect(refusals).toEqual({
      nonApprover: {
        type: ErrorType.ApprovalRefused,
        message: expect.stringMatching(/"mallory" may not approve .*the approvers are alice, bob/),
      },
      noIdentity: {
        type: ErrorType.ApprovalRefused,
        message: expect.stringMatching(/an approval without an identity may not approve/),
      },
      starter: {
        type: ErrorType.ApprovalRefused,
        message: expect.stringMatching(/"alice" started this upgrade .*may not approve it/),
      },
      noComment: { type: ErrorType.ApprovalRefused, message: expect.stringMatching(/needs a comment/) },
      blankComment: { type: ErrorType.ApprovalRefused, message: expect.stringMatching(/needs a comment/) },
      oversized: {
        type: ErrorType.InvalidInput,
        message: expect.stringMatching(/the request is \d+ characters; at most 4096/),
      },
      longName: {
        type: ErrorType.InvalidInput,
        message: expect.stringMatching(/by must be a name of at most 128 characters/),
      },
      extraField: { type: ErrorType.InvalidInput, message: expect.stringMatching(/unknown field\(s\) as/) },
    });
    expect(result.phase).toBe('done');
    expect(result.state.approvals.map((a) => `${a.gate}:${a.by}:${a.via}`)).toEqual(['preflight:bob:update']);
    expect(result.state.ignoredSignals).toEqual([
      expect.objectContaining({ name: 'approveSignal', reason: expect.stringMatching(/not accepted/) }),
    ]);
    // The history replays with the workflow code as it is.
    const history = await h.client.workflow.getHandle(workflowId).fetchHistory();
    await Worker.runReplayHistory({ workflowBundle: h.bundle }, history, workflowId);
  });

  it('without a policy, approvals work as before (identity recorded, no approver list)', async () => {
    const inp: UpgradeInput = {
      inventory: makeInventory(uniqueCluster('nopolicy'), 1, 1),
      target: '1.30',
      options: { gates: ['preflight'], startedBy: 'alice' },
    };
    const fake = new FakeCluster(inp.inventory, 'v1.29.10');
    const result = await withWorker(h, fake, async (tq) => {
      const handle = await startUpgrade(h, tq, inp);
      await waitFor(handle, (x) => x.gate?.name === 'preflight', 'preflight gate');
      await handle.executeUpdate(approveUpdate, { args: [{ gate: 'preflight', by: 'alice' }] });
      return handle.result();
    });
    expect(result.phase).toBe('done');
    expect(result.state.approvalPolicy).toBeUndefined();
  });
});
