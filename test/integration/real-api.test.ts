/**
 * Issue 14: the lab on the real Kubernetes API. kube-apiserver, etcd, kube-controller-manager,
 * kube-scheduler and kubectl are the real binaries built from Go modules (scripts/build-k8s.sh);
 * only the OS layer (packages, systemd, kubeadm's node-local work, the kubelets) is the lab's.
 * A whole upgrade v1.33.13 -> v1.34.4 through kupgrade: drains, evictions, PDBs, cordons and
 * node readiness come from real Kubernetes code, and the apiserver itself is restarted with the
 * v1.34.4 binary when the lab's kubeadm writes its new manifest. Then a PDB that never yields,
 * refused by the real eviction API.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { injectFault } from '../../lab/src/api';
import { printedNode } from '../../src/activities/node-ready';
import { kupgrade } from '../helpers/cli';
import { type Lab, repeatedMutations } from '../helpers/lab';
import { type Setup, setUp, startRun, until } from '../helpers/runs';

jest.setTimeout(10 * 60_000);

interface VersionJson {
  clientVersion: { gitVersion: string };
  serverVersion: { gitVersion: string };
}

function versions(lab: Lab): VersionJson {
  return lab.kubectlJson<VersionJson>('version');
}

describe('the lab on the real Kubernetes API', () => {
  let s: Setup;
  afterAll(async () => {
    await s?.stop();
  });

  it('upgrades v1.33.13 -> v1.34.4: real kubectl, real drains, the apiserver restarted on the new release', async () => {
    s = await setUp('real-api', {
      controlPlanes: 1,
      workers: 2,
      version: '1.33.13',
      packages: 'apt',
      speed: 100,
      extra: ['--api', 'real'],
    });
    const before = versions(s.lab);
    expect(before.serverVersion.gitVersion).toBe('v1.33.13');
    expect(before.clientVersion.gitVersion).toBe('v1.33.13');
    // the real apiserver's answers, in real kubectl's own formats
    const nodes = s.lab.ssh('cp-1', 'kubectl get nodes');
    expect(nodes.stdout).toMatch(/^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\n/);
    expect(nodes.stdout).toMatch(/\ncp-1\s+Ready\s+control-plane\s+\S+\s+v1\.33\.13\n/);
    const missing = s.lab.ssh('cp-1', 'kubectl get node no-such-node');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('Error from server (NotFound): nodes "no-such-node" not found\n');

    await startRun(s.lab.inventory, '1.34');
    const end = await until(
      s.cluster,
      (x) => x.phase === 'done' || x.phase === 'failed' || x.phase === 'blocked',
      'the run to end',
      480_000,
    );
    expect(end.blocked ?? []).toEqual([]);
    expect(end.phase).toBe('done');

    const after = versions(s.lab);
    expect(after.serverVersion.gitVersion).toBe('v1.34.4');
    expect(after.clientVersion.gitVersion).toBe('v1.34.4');
    const apiserverLog = readFileSync(path.join(s.lab.dir, 'api/logs/kube-apiserver.log'), 'utf8');
    const starts = [...apiserverLog.matchAll(/^--- \S+ start (\S+)/gm)].map((m) =>
      path.basename(path.dirname(m[1]!)),
    );
    expect(starts).toEqual(['v1.33.13', 'v1.34.4']);

    // the API's own record: every node at v1.34.4, Ready, schedulable
    const got = JSON.parse(s.lab.ssh('cp-1', 'kubectl get nodes -o json').stdout) as {
      items: {
        metadata: { name: string };
        spec: { unschedulable?: boolean };
        status: { nodeInfo: { kubeletVersion: string }; conditions: { type: string; status: string }[] };
      }[];
    };
    expect(
      got.items.map((n) => [
        n.metadata.name,
        n.status.nodeInfo.kubeletVersion,
        n.status.conditions.find((c) => c.type === 'Ready')?.status,
        !!n.spec.unschedulable,
      ]),
    ).toEqual([
      ['cp-1', 'v1.34.4', 'True', false],
      ['w-1', 'v1.34.4', 'True', false],
      ['w-2', 'v1.34.4', 'True', false],
    ]);
    // the mirror pod of the new kube-apiserver manifest
    const mirror = JSON.parse(
      s.lab.ssh('cp-1', 'kubectl -n kube-system get pod kube-apiserver-cp-1 -o json').stdout,
    ) as { spec: { containers: { image: string }[] } };
    expect(mirror.spec.containers[0]!.image).toBe('registry.k8s.io/kube-apiserver:v1.34.4');

    // the drains went through real kubectl: its own output, every node drained once
    const drains = s.lab
      .events()
      .filter((e) => e.type === 'exec' && /^kubectl .*\bdrain\b/.test(e.cmd ?? ''));
    expect(drains.map((e) => [/-- (\S+)$/.exec(e.cmd ?? '')?.[1], e.exit])).toEqual([
      ['cp-1', 0],
      ['w-1', 0],
      ['w-2', 0],
    ]);
    // each node's Ready wait ended with real kubectl's `wait` (version, then Ready) met: exit 0,
    // a condition kubectl understood (a refused one would fall back to polling and still pass)
    const waits = s.lab.events().filter((e) => e.type === 'exec' && /^kubectl .*\bwait\b/.test(e.cmd ?? ''));
    const met = (cond: RegExp) =>
      waits
        .filter((e) => cond.test(e.cmd ?? '') && e.exit === 0)
        .map((e) => /node\/(\S+)$/.exec(e.cmd ?? '')?.[1])
        .sort();
    expect(met(/kubeletVersion\}=v1\.34\.4/)).toEqual(['cp-1', 'w-1', 'w-2']);
    expect(met(/condition=Ready/)).toEqual(['cp-1', 'w-1', 'w-2']);
    expect(waits.filter((e) => e.exit !== 0 && e.exit !== 1)).toEqual([]);
    // real kubectl's JSON says the Node is cordoned where kupgrade's shell looks for it: each
    // worker's uncordon ran once, in its Ready wait's session, never in a session of its own
    const sessions = s.lab
      .events()
      .filter((e) => e.type === 'ssh' && /\buncordon -- w-\d\b/.test(e.cmd ?? ''));
    expect(
      sessions
        .map((e) => [/uncordon -- (w-\d)/.exec(e.cmd ?? '')?.[1], /condition=Ready/.test(e.cmd ?? '')])
        .sort(),
    ).toEqual([
      ['w-1', true],
      ['w-2', true],
    ]);
    const uncordons = s.lab
      .events()
      .filter((e) => e.type === 'exec' && /^kubectl .*\buncordon -- w-\d$/.test(e.cmd ?? ''));
    expect(uncordons.map((e) => [/(w-\d)$/.exec(e.cmd ?? '')?.[1], e.exit]).sort()).toEqual([
      ['w-1', 0],
      ['w-2', 0],
    ]);
    // real kubectl's `wait -o json` prints the Node as it met the condition: what the uncordon after
    // the Ready wait decides on (src/activities/node-ready.ts printedNode)
    const printed = s.lab.ssh(
      'cp-1',
      'kubectl --kubeconfig=/etc/kubernetes/admin.conf wait --for=condition=Ready --timeout=10s -o json -- node/w-1',
    );
    expect(printed.code).toBe(0);
    expect(printedNode(printed.stdout, 'w-1', 'v1.34.4')).toMatchObject({
      name: 'w-1',
      ready: true,
      kubeletVersion: 'v1.34.4',
      unschedulable: false,
    });
    expect(repeatedMutations(s.lab.events())).toEqual([]);
    const check = s.lab.check('v1.34.4', 1);
    expect(check.stderr + check.stdout).not.toMatch(/FAIL|violation/i);
    expect(check.status).toBe(0);
    await s.stop();
    s = undefined as unknown as Setup;
  });

  it('a PDB that never yields: the real eviction API refuses, the drain times out, the node is uncordoned', async () => {
    s = await setUp('real-api-pdb', {
      controlPlanes: 1,
      workers: 2,
      version: '1.33.13',
      packages: 'apt',
      speed: 100,
      extra: ['--api', 'real'],
    });
    // real kubectl's --timeout is wall-clock time (the emulated one scaled it by the lab's speed)
    s.lab.editInventory(/^ {2}timeout: 5m$/m, '  timeout: 20s');
    await injectFault(s.lab.dir, { kind: 'pdb-block' });
    const pdbs = s.lab.ssh('cp-1', 'kubectl get pdb -n prod kupgrade-lab-pdb-block -o json');
    expect(pdbs.code).toBe(0);
    expect(JSON.parse(pdbs.stdout)).toMatchObject({
      spec: { maxUnavailable: 0 },
      status: { disruptionsAllowed: 0 },
    });

    await startRun(s.lab.inventory, '1.34');
    const st = await until(
      s.cluster,
      (x) => x.phase === 'blocked' || x.phase === 'done' || x.phase === 'failed',
      'the drain to block the run',
      480_000,
    );
    expect(st.phase).toBe('blocked');
    const b = st.blocked[0]!;
    expect(b).toMatchObject({ step: 'drain', type: 'DrainTimeout' });
    expect(b.message).toMatch(/drain did not finish within 20s/);
    // the words of the real eviction API, as real kubectl prints them
    expect(`${b.message}\n${b.outputTail ?? ''}\n${b.hints.join('\n')}`).toMatch(
      /Cannot evict pod as it would violate the pod's disruption budget/,
    );
    expect(b.hints.join('\n')).toMatch(/PodDisruptionBudget/);
    expect(s.lab.cordoned()).toEqual([]);
    const node = JSON.parse(s.lab.ssh('cp-1', `kubectl get node ${b.node} -o json`).stdout) as {
      spec: { unschedulable?: boolean };
    };
    expect(node.spec.unschedulable).toBeUndefined();
    expect(s.lab.nodes()[b.node!]!.kubelet).toBe('1.33.13');

    const abort = await kupgrade('abort', s.cluster, '--by', 'alice', '--comment', 'PDB owner away');
    expect(abort.code).toBe(0);
    const end = await until(
      s.cluster,
      (x) => x.phase === 'aborted' || x.phase === 'failed' || x.phase === 'done',
      'the run to end',
    );
    expect(end.phase).toBe('aborted');
  });
});
