/**
 * Approvals through the CLI on a lab, with the approval policy in the worker config:
 * `kupgrade approve` sends its identity (--by / KUPGRADE_IDENTITY) both as the approval's `by` and
 * as its Temporal client identity, which the server records on the accepted Update; the policy
 * refuses the starter, a non-approver and a missing comment with exit 1 and the reason, and the
 * run waits on unaffected; a start asking for --auto-approve is refused by the worker.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import YAML from 'yaml';
import { upgradeWorkflowId } from '../../src/shared/names';
import { kupgrade } from '../helpers/cli';
import { isMutating, Lab } from '../helpers/lab';
import { type Setup, setUp, status, until } from '../helpers/runs';
import { client } from '../helpers/temporal';

jest.setTimeout(5 * 60_000);

/** The policy under test, in the lab's worker config: alice or bob, with a comment, not the starter. */
function requireApprovals(lab: Lab, cluster: string): void {
  const file = path.join(lab.dir, 'worker.yaml');
  const config = YAML.parse(fs.readFileSync(file, 'utf8')) as {
    clusters: Record<string, Record<string, unknown>>;
  };
  config.clusters[cluster].approvals = {
    approvers: ['alice', 'bob'],
    requireComment: true,
    distinctFromStarter: true,
  };
  fs.writeFileSync(file, YAML.stringify(config));
}

describe('approvals through the CLI with a policy in the worker config', () => {
  let env: Setup;
  let lab: Lab;
  let cluster: string;

  beforeAll(async () => {
    const labOptions = { controlPlanes: 1, workers: 1, version: '1.29.6', packages: 'yum' } as const;
    env = await setUp('approvals-cli', labOptions, { configure: requireApprovals });
    ({ lab, cluster } = env);
  });
  afterAll(async () => {
    await env?.stop();
    delete process.env.KUPGRADE_IDENTITY;
  });

  it('refuses --auto-approve at the start: the worker config requires approvals', async () => {
    const r = await kupgrade('start', '-f', lab.inventory, '--to', '1.30', '--auto-approve', '--by', 'alice');
    expect(r.code).toBe(0); // started; the worker refuses it at its first step
    const s = await until(cluster, (x) => x.phase === 'failed', 'the refused run');
    expect((s as unknown as { message: string }).message).toMatch(
      /requires approvals by alice, bob: auto-approve is not allowed/,
    );
    expect(lab.events().filter((e) => e.type === 'exec' || e.type === 'ssh')).toEqual([]);
  });

  it('refuses the starter, a non-approver and a missing comment; an approver with a comment proceeds', async () => {
    const start = await kupgrade('start', '-f', lab.inventory, '--to', '1.30', '--by', 'alice');
    expect(start.code).toBe(0);
    await until(
      cluster,
      (x) => (x as unknown as { gate?: { name: string } }).gate?.name === 'preflight',
      'the preflight gate',
    );

    const starter = await kupgrade('approve', cluster, '--by', 'alice', '--comment', 'CAB-1');
    expect(starter.code).toBe(1);
    expect(starter.stderr).toMatch(/refused: "alice" started this upgrade .* may not approve it/);
    const stranger = await kupgrade('approve', cluster, '--by', 'mallory', '--comment', 'CAB-1');
    expect(stranger.code).toBe(1);
    expect(stranger.stderr).toMatch(
      /refused: "mallory" may not approve gates of .*the approvers are alice, bob/,
    );
    process.env.KUPGRADE_IDENTITY = 'bob';
    const bare = await kupgrade('approve', cluster);
    expect(bare.code).toBe(1);
    expect(bare.stderr).toMatch(/needs a comment \(approvals\.requireComment\)/);

    // unaffected: still at the gate, nothing approved, nothing changed on any node
    const s = (await status(cluster)) as unknown as { gate?: { name: string }; approvals: unknown[] };
    expect(s.gate?.name).toBe('preflight');
    expect(s.approvals).toEqual([]);
    expect(lab.events().filter((e) => e.type === 'exec' && isMutating(e.cmd ?? ''))).toEqual([]);

    const ok = await kupgrade('approve', cluster, '--comment', 'CAB-1234');
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toMatch(/approved gate preflight of .* by bob/);
    // the server recorded the same name as the client identity of the accepted Update
    const { client: c, close } = await client();
    try {
      const history = await c.workflow.getHandle(upgradeWorkflowId(cluster)).fetchHistory();
      const accepted = (history.events ?? []).filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes);
      expect(
        accepted.map(
          (e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.meta?.identity,
        ),
      ).toEqual(['bob']);
    } finally {
      await close();
    }
    await until(
      cluster,
      (x) => (x as unknown as { gate?: { name: string } }).gate?.name === 'control-plane',
      'the control-plane gate',
    );
    const abort = await kupgrade('abort', cluster, '--comment', 'end of test');
    expect(abort.code).toBe(0);
    await until(cluster, (x) => x.phase === 'aborted', 'the abort');
  });
});
