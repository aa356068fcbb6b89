/**
 * Every kupgrade command against the real dev server and a lab: output shapes (-o json), exit
 * codes, and the refusals an operator meets (unknown cluster, a closed gate, skipping a control
 * plane, a second start).
 */
import { loadInventory } from '../../src/inventory';
import { kupgrade } from '../helpers/cli';
import { Lab } from '../helpers/lab';
import { startWorker, uniqueQueue } from '../helpers/temporal';

jest.setTimeout(10 * 60_000);

function parsed<T>(text: string): T | undefined {
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined; // e.g. the first workflow task has not run yet, so the query failed
  }
}

async function until<T>(fn: () => Promise<T | undefined>, what: string, ms = 120_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('kupgrade commands on a lab', () => {
  let lab: Lab;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  let cluster: string;
  const queue = uniqueQueue('cli');

  beforeAll(async () => {
    process.env.KUPGRADE_TASK_QUEUE = queue;
    lab = Lab.up({ controlPlanes: 1, workers: 2, version: '1.29.6', packages: 'yum' });
    cluster = loadInventory(lab.inventory).metadata.name;
    worker = await startWorker(queue, lab);
  });
  afterAll(async () => {
    await worker?.stop();
    lab?.down();
    delete process.env.KUPGRADE_TASK_QUEUE;
  });

  it('plan -o json: versions, the resolved target, hops and preflight, read-only', async () => {
    const r = await kupgrade('plan', '-f', lab.inventory, '--to', '1.30', '-o', 'json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.stdout) as {
      resolvedTarget: string;
      hops: { hop: { version: string }; nodes: { name: string; steps: string[] }[] }[];
      versions: { name: string; kubeletVersion: string }[];
      preflight: { ok: boolean };
    };
    expect(plan.resolvedTarget).toMatch(/^v1\.30\.\d+$/);
    expect(plan.hops).toHaveLength(1);
    expect(plan.hops[0].nodes.map((n) => n.name)).toEqual(['cp-1', 'w-1', 'w-2']);
    expect(plan.versions.every((v) => v.kubeletVersion === 'v1.29.6')).toBe(true);
    expect(plan.preflight.ok).toBe(true);
    const text = await kupgrade('plan', '-f', lab.inventory, '--to', '1.30');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/Hop 1: .* → v1\.30\.\d+/);
    expect(
      lab.events().filter((e) => e.type === 'exec' && /install|upgrade apply|drain/.test(e.cmd ?? '')),
    ).toEqual([]);
  });

  it('runs an upgrade through start, status, approve, pause/resume, watch, list and history', async () => {
    const started = await kupgrade(
      'start',
      '-f',
      lab.inventory,
      '--to',
      '1.30',
      '--gates',
      'preflight,workers',
      '-o',
      'json',
    );
    expect(started.code).toBe(0);
    const info = JSON.parse(started.stdout) as { workflowId: string; ui: string };
    expect(info.workflowId).toBe(`kupgrade-${cluster}`);
    expect(info.ui).toMatch(/\/namespaces\/default\/workflows\/kupgrade-/);

    const again = await kupgrade('start', '-f', lab.inventory, '--to', '1.30');
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already running/);

    const status = await until(async () => {
      const s = await kupgrade('status', cluster, '-o', 'json');
      const state = parsed<{ phase: string; gate?: { name: string } }>(s.stdout);
      return state?.gate?.name === 'preflight' ? state : undefined;
    }, 'the preflight gate');
    expect(status.phase).toBe('preflight');

    const closed = await kupgrade('approve', cluster, '--gate', 'workers', '--by', 'alice');
    expect(closed.code).toBe(1);
    expect(closed.stderr).toMatch(/refused/);
    const skipCp = await kupgrade('skip', cluster, '--node', 'cp-1', '--by', 'alice');
    expect(skipCp.code).toBe(1);
    expect(skipCp.stderr).toMatch(/refused/);

    const ok = await kupgrade('approve', cluster, '--by', 'alice', '--comment', 'CAB-1234');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/approved gate preflight/);

    expect((await kupgrade('pause', cluster, '--by', 'bob')).code).toBe(0);
    expect((await kupgrade('resume', cluster, '--by', 'bob')).code).toBe(0);

    await until(
      async () => {
        const s = JSON.parse((await kupgrade('status', cluster, '-o', 'json')).stdout) as {
          gate?: { name: string };
        };
        return s.gate?.name === 'workers' ? true : undefined;
      },
      'the workers gate',
      300_000,
    );
    expect((await kupgrade('approve', cluster, '--gate', 'workers', '--by', 'carol')).code).toBe(0);

    const watch = await kupgrade('watch', cluster, '--interval', '0.5');
    expect(watch.code).toBe(0);
    expect(watch.stdout).toMatch(/phase=done/);
    expect(watch.stdout).toMatch(/\d+\/3 nodes/);

    const list = await kupgrade('list', '-o', 'json');
    expect(list.code).toBe(0);
    const rows = JSON.parse(list.stdout) as { cluster: string; phase: string }[];
    expect(rows.find((r) => r.cluster === cluster)?.phase).toBe('done');

    const history = await kupgrade('history', cluster);
    expect(history.code).toBe(0);
    expect(history.stdout).toMatch(/approve preflight\s+alice/);
    expect(history.stdout).toMatch(/approve workers.*carol/);
    expect(history.stdout).toMatch(/CAB-1234/);
    const hj = JSON.parse((await kupgrade('history', cluster, '-o', 'json')).stdout) as {
      approvals: unknown[];
    };
    expect(hj.approvals.length).toBeGreaterThanOrEqual(2);

    const target = (
      JSON.parse((await kupgrade('status', cluster, '-o', 'json')).stdout) as { hops: { version: string }[] }
    ).hops.at(-1)!.version;
    expect(lab.check(target, 1).status).toBe(0);
  });

  it('refuses unknown clusters and decisions on a finished run', async () => {
    const unknown = await kupgrade('status', 'no-such-cluster');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no upgrade found for cluster "no-such-cluster"/);
    const approve = await kupgrade('approve', cluster);
    expect(approve.code).toBe(1);
    expect(approve.stderr).toMatch(/no gate is open|refused/);
  });
});
