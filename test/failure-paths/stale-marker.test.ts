/**
 * A completion marker cannot lie: w-1 carries the markers an earlier run left
 * (kubelet-packages and kubelet-restart for the very version of this run), while its packages
 * and its kubelet are the old ones. The run installs and restarts anyway (real state first,
 * markers keyed by run and hop) and ends done with w-1 at the target. Real dev server, real
 * worker, the lab over real SSH.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type Setup, setUp, startRun, until } from '../helpers/runs';

jest.setTimeout(8 * 60_000);

describe('a stale marker from an earlier run', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setUp(
      'stale',
      { controlPlanes: 1, workers: 1, version: '1.29.6', packages: 'yum' },
      { readyTimeoutMs: 8_000 },
    );
    // What a previous run's markers look like (the plain version each marker used to hold).
    const dir = path.join(s.lab.dir, 'nodes/w-1/etc/kubernetes/tmp/kupgrade');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'kubelet-packages'), '1.30.14-150500.1.1\n');
    writeFileSync(path.join(dir, 'kubelet-restart'), 'v1.30.14\n');
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('does not make the kubelet steps skip', async () => {
    await startRun(s.lab.inventory);
    const end = await until(
      s.cluster,
      (x) => ['done', 'blocked', 'aborted', 'failed'].includes(x.phase),
      'the run to end',
    );
    expect(end.blocked).toEqual([]);
    expect(end.phase).toBe('done');
    const w1 = s.lab.nodes()['w-1'];
    expect(w1.packages.kubelet.version).toBe('1.30.14');
    expect(w1.kubelet).toBe('1.30.14');
    const execs = s.lab.events().filter((e) => e.type === 'exec' && e.node === 'w-1' && e.exit === 0);
    expect(execs.filter((e) => /^(yum|dnf) install\b.*kubelet/.test(e.cmd ?? ''))).toHaveLength(1);
    expect(execs.filter((e) => /^systemctl restart kubelet\b/.test(e.cmd ?? ''))).toHaveLength(1);
  });
});
