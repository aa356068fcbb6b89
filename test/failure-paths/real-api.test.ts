/**
 * Issue 14: failure paths on the real Kubernetes API (`kupgrade-lab up --api real`, v1.33.13 ->
 * v1.34.4). What kupgrade reads and writes — node readiness, cordons, drains — goes through the
 * real kube-apiserver and the real kubectl; the lab's node agent only plays the kubelets. Each
 * case checks the API itself, not only the lab's model. (pdb-never-yields on the real API is in
 * test/integration/real-api.test.ts.)
 */
import { injectFault, operatorCordon } from '../../lab/src/api';
import { kupgrade } from '../helpers/cli';
import type { Lab } from '../helpers/lab';
import { repeatedMutations } from '../helpers/lab';
import { type Setup, setUp, startRun, until } from '../helpers/runs';

jest.setTimeout(10 * 60_000);

interface NodeJson {
  spec: { unschedulable?: boolean; taints?: { key: string; effect: string }[] };
  status: { nodeInfo: { kubeletVersion: string }; conditions: { type: string; status: string }[] };
}

function apiNode(
  lab: Lab,
  name: string,
): { ready: string; kubelet: string; unschedulable: boolean; taints: string[] } {
  const n = lab.kubectlJson<NodeJson>(`get node ${name}`);
  return {
    ready: n.status.conditions.find((c) => c.type === 'Ready')?.status ?? '',
    kubelet: n.status.nodeInfo.kubeletVersion,
    unschedulable: !!n.spec.unschedulable,
    taints: (n.spec.taints ?? []).map((t) => `${t.key}:${t.effect}`).sort(),
  };
}

const real = {
  controlPlanes: 1,
  workers: 2,
  version: '1.33.13',
  packages: 'apt' as const,
  speed: 100,
  extra: ['--api', 'real'],
};

/** Starts the upgrade to 1.34 and waits until it blocks or ends (whichever it does is asserted by the caller). */
async function runUntilStopped(s: Setup, what: string) {
  await startRun(s.lab.inventory, '1.34');
  return until(s.cluster, (x) => ['blocked', 'done', 'failed'].includes(x.phase), what);
}

describe('failure paths on the real Kubernetes API', () => {
  describe('a kubelet that never becomes Ready', () => {
    let s: Setup;
    beforeAll(async () => {
      s = await setUp('real-notready', real, { readyTimeoutMs: 8_000 });
      await injectFault(s.lab.dir, { kind: 'kubelet-not-ready', node: 'w-1' });
    });
    afterAll(async () => {
      await s?.stop();
    });

    it('blocks at wait-ready on what the API says; abort leaves w-1 schedulable in the API', async () => {
      const st = await runUntilStopped(s, 'the run to block on w-1');
      expect(st.phase).toBe('blocked');
      expect(st.blocked[0]).toMatchObject({ node: 'w-1', step: 'wait-ready', type: 'NodeNotReady' });
      expect(st.blocked[0]!.message).toMatch(
        /^w-1: not Ready at v1\.34\.4 after 8s; last seen NotReady at v1\.34\.4/,
      );
      // the API's record while blocked: the new kubelet registered NotReady, cordoned by the run
      expect(apiNode(s.lab, 'w-1')).toEqual({
        ready: 'False',
        kubelet: 'v1.34.4',
        unschedulable: true,
        taints: ['node.kubernetes.io/not-ready:NoSchedule', 'node.kubernetes.io/unschedulable:NoSchedule'],
      });
      const abort = await kupgrade('abort', s.cluster, '--by', 'alice');
      expect(abort.code).toBe(0);
      await until(s.cluster, (x) => x.phase === 'aborted', 'the abort to finish');
      expect(apiNode(s.lab, 'w-1')).toMatchObject({ unschedulable: false });
      expect(apiNode(s.lab, 'w-2')).toMatchObject({
        unschedulable: false,
        kubelet: 'v1.33.13',
        ready: 'True',
      });
      expect(repeatedMutations(s.lab.events())).toEqual([]);
    });
  });

  describe('a node an operator cordons during the run', () => {
    let s: Setup;
    beforeAll(async () => {
      s = await setUp('real-opcordon', real);
    });
    afterAll(async () => {
      await s?.stop();
    });

    it('is upgraded and stays cordoned in the API', async () => {
      const r = await kupgrade('start', '-f', s.lab.inventory, '--to', '1.34', '--max-unavailable', '1');
      expect(r.code).toBe(0);
      const approve = async (gate: string) => {
        await until(s.cluster, (x) => (x as { gate?: { name: string } }).gate?.name === gate, `gate ${gate}`);
        expect((await kupgrade('approve', s.cluster, '--gate', gate, '--by', 'alice')).code).toBe(0);
      };
      await approve('preflight');
      await operatorCordon(s.lab.dir, 'w-2', true);
      expect(apiNode(s.lab, 'w-2').unschedulable).toBe(true);
      await approve('control-plane');
      await approve('workers');
      const end = await until(s.cluster, (x) => ['done', 'blocked', 'aborted'].includes(x.phase), 'the end');
      expect(end.phase).toBe('done');
      expect(end.nodes.find((n) => n.name === 'w-2')).toMatchObject({ status: 'done', cordonedByRun: false });
      expect(apiNode(s.lab, 'w-2')).toEqual({
        ready: 'True',
        kubelet: 'v1.34.4',
        unschedulable: true,
        taints: ['node.kubernetes.io/unschedulable:NoSchedule'],
      });
      expect(apiNode(s.lab, 'w-1')).toMatchObject({ unschedulable: false, kubelet: 'v1.34.4' });
      const check = s.lab.check('v1.34.4');
      expect(check.stdout).not.toMatch(/left-cordoned|unschedulable/);
      expect(check.status).toBe(0);
    });
  });

  describe('a pod covered by two PodDisruptionBudgets', () => {
    let s: Setup;
    beforeAll(async () => {
      s = await setUp('real-twopdb', real);
      // an overlapping PDB next to web-pdb: the eviction API refuses every web pod outright
      const r = s.lab.ssh(
        'cp-1',
        'kubectl create poddisruptionbudget web-pdb-2 -n prod --selector=app=web --min-available=1',
      );
      expect(r.stdout).toBe('poddisruptionbudget.policy/web-pdb-2 created\n');
    });
    afterAll(async () => {
      await s?.stop();
    });

    it('is refused as a policy the operator must fix, naming the pods and the reason, not as a timeout', async () => {
      const st = await runUntilStopped(s, 'the drain to block');
      expect(st.phase).toBe('blocked');
      const b = st.blocked[0]!;
      expect(b).toMatchObject({ step: 'drain', type: 'PolicyRefused' });
      expect(b.node).toMatch(/^w-/);
      expect(b.message).toBe(
        `${b.node}: drain refused: pods covered by more than one PodDisruptionBudget cannot be evicted`,
      );
      expect(b.hints.join('\n')).toMatch(/more than one PodDisruptionBudget selects them: prod\/web-/);
      expect(b.hints.join('\n')).toMatch(/one PodDisruptionBudget per pod/);
      // the run uncordoned the node it cordoned while it waits for a person
      expect(apiNode(s.lab, b.node!)).toMatchObject({ unschedulable: false });
    });
  });
});
