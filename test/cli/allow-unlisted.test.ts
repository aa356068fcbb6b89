/**
 * Nodes the inventory forgot, through the CLI and the workflows: on a lab whose
 * cluster.yaml leaves out w-2 (`kupgrade-lab up --unlisted w-2`), `plan` refuses and names it,
 * `plan --allow-unlisted` passes with a warning, `start --dry-run` fails at preflight and
 * `start --dry-run --allow-unlisted` gets through preflight (the option reaches the worker's
 * preflight as a plain boolean), and nothing mutating runs on the lab; a real run with
 * --allow-unlisted upgrades the listed nodes and leaves w-2 alone.
 */
import { loadInventory } from '../../src/inventory';
import { kupgrade } from '../helpers/cli';
import { isMutating, Lab } from '../helpers/lab';
import { until } from '../helpers/runs';
import { startWorker, uniqueQueue } from '../helpers/temporal';

jest.setTimeout(10 * 60_000);

interface Plan {
  refused?: { type: string; message: string };
  preflight?: { ok: boolean; checks: { name: string; status: string; message: string }[] };
}

describe('--allow-unlisted', () => {
  let lab: Lab;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  let cluster: string;
  const queue = uniqueQueue('unlisted');

  beforeAll(async () => {
    process.env.KUPGRADE_TASK_QUEUE = queue;
    lab = Lab.up({
      controlPlanes: 1,
      workers: 2,
      version: '1.29.6',
      packages: 'yum',
      extra: ['--unlisted', 'w-2'],
    });
    cluster = loadInventory(lab.inventory).metadata.name;
    worker = await startWorker(queue, lab);
  });
  afterAll(async () => {
    await worker?.stop();
    lab?.down();
    delete process.env.KUPGRADE_TASK_QUEUE;
  });

  it('plan refuses and names the unlisted node; --allow-unlisted passes with a warning', async () => {
    const r = await kupgrade('plan', '-f', lab.inventory, '--to', '1.30', '-o', 'json');
    expect(r.code).toBe(1);
    const plan = JSON.parse(r.stdout) as Plan;
    expect(plan.refused?.message).toMatch(/unlisted-nodes: .*w-2/);
    const ok = await kupgrade('plan', '-f', lab.inventory, '--to', '1.30', '--allow-unlisted', '-o', 'json');
    expect(ok.code).toBe(0);
    const okPlan = JSON.parse(ok.stdout) as Plan;
    expect(okPlan.preflight?.checks.filter((c) => c.name === 'unlisted-nodes').map((c) => c.status)).toEqual([
      'warn',
    ]);
  });

  it('start --dry-run fails at preflight; with --allow-unlisted the dry run completes', async () => {
    const r = await kupgrade('start', '-f', lab.inventory, '--to', '1.30', '--dry-run');
    expect(r.code).toBe(0);
    const failed = await until(
      cluster,
      (s) => s.phase === 'failed' || s.phase === 'done',
      'the first dry run to end',
    );
    expect(failed.phase).toBe('failed');
    const allowed = await kupgrade(
      'start',
      '-f',
      lab.inventory,
      '--to',
      '1.30',
      '--dry-run',
      '--allow-unlisted',
    );
    expect(allowed.stderr).toBe('');
    expect(allowed.code).toBe(0);
    const done = await until(
      cluster,
      (s) => (s.phase === 'failed' || s.phase === 'done') && s.hops.length > 0,
      'the second dry run to end',
    );
    expect(done.phase).toBe('done');
    expect(lab.events().filter((e) => e.type === 'exec' && e.cmd && isMutating(e.cmd))).toEqual([]);
  });

  it('start --allow-unlisted upgrades the listed nodes to the end; the unlisted one is left as it was', async () => {
    const r = await kupgrade(
      'start',
      '-f',
      lab.inventory,
      '--to',
      '1.30',
      '--auto-approve',
      '--allow-unlisted',
    );
    expect(r.code).toBe(0);
    const end = await until(
      cluster,
      (s) => ['done', 'failed', 'aborted'].includes(s.phase) || s.blocked.length > 0,
      'the run to end',
      480_000,
    );
    expect([end.phase, end.blocked]).toEqual(['done', []]);
    const kubelets = Object.fromEntries(
      Object.entries(lab.nodes()).map(([name, n]) => [name, n.kubelet.replace(/\.\d+$/, '')]),
    );
    expect(kubelets).toEqual({ 'cp-1': '1.30', 'w-1': '1.30', 'w-2': '1.29' });
  });
});
