/**
 * `kupgrade-lab check`: a clean upgrade passes; each invariant broken on purpose is caught and
 * the violation names the line that shows it.
 */
import { checkEvents } from '../../lab/src/check/replay';

type Row = Record<string, unknown>;
const st = (
  node: string,
  f: Partial<{ u: boolean; r: boolean; k: string; a: string; api: string | null; p: number }>,
): Row => ({
  ts: '2026-01-01T00:00:00.000Z',
  node,
  type: 'state',
  unschedulable: f.u ?? false,
  ready: f.r ?? true,
  kubelet: f.k ?? 'v1.29.6',
  kubeadm: f.a ?? 'v1.29.6',
  apiserver: f.api === undefined ? null : f.api,
  pods: f.p ?? 0,
});
const ex = (node: string, cmd: string, exit = 0): Row => ({
  ts: '2026-01-01T00:00:00.000Z',
  node,
  type: 'exec',
  cmd,
  exit,
});

const T = 'v1.30.4';
const UP: Row[] = [
  st('cp-1', { api: 'v1.29.6', p: 2 }),
  st('cp-2', { api: 'v1.29.6', p: 1 }),
  st('w-1', { p: 3 }),
  st('w-2', { p: 3 }),
];

/** The rows of one node's correct upgrade (kubeadm, apiserver for CPs, drain, kubelet, uncordon). */
function upgradeNode(name: string, cp: boolean, pods: number): Row[] {
  const api = cp ? T : null;
  return [
    st(name, { a: T, api: cp ? 'v1.29.6' : null, p: pods }),
    ...(cp
      ? [
          ex(name, `kubeadm upgrade ${name === 'cp-1' ? `apply ${T} -y` : 'node'}`),
          st(name, { a: T, api, p: pods }),
        ]
      : []),
    st(name, { u: true, a: T, api, p: pods }),
    st(name, { u: true, a: T, api, p: 0 }),
    ex(name, 'systemctl restart kubelet'),
    st(name, { u: true, r: false, k: T, a: T, api, p: 0 }),
    st(name, { u: true, r: true, k: T, a: T, api, p: 0 }),
    st(name, { u: false, k: T, a: T, api, p: 0 }),
  ];
}

const CLEAN: Row[] = [
  ...UP,
  ...upgradeNode('cp-1', true, 2),
  ...upgradeNode('cp-2', true, 1),
  ...upgradeNode('w-1', false, 3),
  ...upgradeNode('w-2', false, 3),
];

const lines = (rows: Row[]) => rows.map((r) => JSON.stringify(r));
const run = (rows: Row[], maxUnavailable?: number | string) =>
  checkEvents(lines(rows), { target: T, maxUnavailable });

describe('check', () => {
  test('a clean upgrade passes', () => {
    const r = run(CLEAN);
    expect(r.violations).toEqual([]);
    expect(r.nodes).toBe(4);
    expect(r.events).toBe(CLEAN.length);
  });

  test('two control planes unschedulable at once', () => {
    const rows = [
      ...UP,
      st('cp-1', { u: true, api: 'v1.29.6', p: 2 }),
      st('cp-2', { u: true, api: 'v1.29.6', p: 1 }),
    ];
    const v = run(rows).violations.find((x) => x.rule === 'control-planes-unschedulable');
    expect(v).toMatchObject({ line: 6 });
    expect(v!.message).toBe('2 control planes unschedulable at once: cp-1, cp-2');
  });

  test('more workers unschedulable than --max-unavailable', () => {
    const rows = [...UP, st('w-1', { u: true, p: 3 }), st('w-2', { u: true, p: 3 })];
    expect(run(rows, 1).violations.find((x) => x.rule === 'workers-unschedulable')).toMatchObject({
      line: 6,
    });
    expect(run(rows, 2).violations.find((x) => x.rule === 'workers-unschedulable')).toBeUndefined();
    // percentages resolve like kupgrade's inventory: floor(workers * p / 100), at least 1
    expect(run(rows, '50%').violations.find((x) => x.rule === 'workers-unschedulable')).toMatchObject({
      line: 6,
    });
    expect(run(rows, '100%').violations.find((x) => x.rule === 'workers-unschedulable')).toBeUndefined();
  });

  test('a node cordoned by someone else at up is not counted and may stay cordoned', () => {
    const rows = [...UP.slice(0, 2), st('w-1', { u: true, p: 0 }), UP[3]!];
    const upgraded = [...rows, ...upgradeNode('cp-1', true, 2), ...upgradeNode('cp-2', true, 1)];
    // w-2 drained while w-1 (cordoned before) stays cordoned: within maxUnavailable 1
    const w1 = [st('w-1', { u: true, k: T, a: T }), ...upgradeNode('w-2', false, 3)];
    const r = run([...upgraded, ...w1]);
    expect(r.violations).toEqual([]);
  });

  test('a node an operator cordons during the run is theirs: not counted, may stay cordoned', () => {
    const op = (node: string, action: 'cordon' | 'uncordon'): Row => ({
      ts: '2026-01-01T00:00:00.000Z',
      node,
      type: 'operator',
      action,
    });
    // w-2 cordoned by an operator while w-1 is drained (window 1); w-2 ends cordoned
    const rows = [
      ...UP,
      op('w-2', 'cordon'),
      st('w-2', { u: true, p: 3 }),
      ...upgradeNode('cp-1', true, 2),
      ...upgradeNode('cp-2', true, 1),
      ...upgradeNode('w-1', false, 3),
      ...upgradeNode('w-2', false, 3).slice(0, -1),
    ];
    expect(run(rows, 1).violations).toEqual([]);
    // the same cordon made by the run (no operator line) is flagged twice
    const rules = run(
      rows.filter((r) => r.type !== 'operator'),
      1,
    ).violations.map((v) => v.rule);
    expect(rules).toEqual(expect.arrayContaining(['workers-unschedulable', 'left-cordoned']));
    // once the operator uncordons it, it is counted again
    const back = [
      ...UP,
      op('w-2', 'cordon'),
      st('w-2', { u: true, p: 3 }),
      op('w-2', 'uncordon'),
      st('w-2', { p: 3 }),
    ];
    expect(
      run([...back, st('w-1', { u: true, p: 3 }), st('w-2', { u: true, p: 3 })], 1).violations.map(
        (v) => v.rule,
      ),
    ).toContain('workers-unschedulable');
  });

  test('kubelet changed while schedulable (restart before drain)', () => {
    const rows = [
      ...UP,
      ...upgradeNode('cp-1', true, 2),
      ...upgradeNode('cp-2', true, 1),
      st('w-1', { a: T, p: 3 }),
      st('w-1', { r: false, k: T, a: T, p: 3 }),
    ];
    const v = run(rows).violations.filter((x) => x.rule === 'kubelet-changed-undrained');
    expect(v).toHaveLength(1);
    expect(v[0]!.line).toBe(rows.length);
    expect(v[0]!.message).toBe('kubelet of w-1 changed v1.29.6 -> v1.30.4 while schedulable');
  });

  test('kubelet changed while cordoned but not drained', () => {
    const rows = [...UP, st('w-1', { u: true, p: 3 }), st('w-1', { u: true, r: false, k: 'v1.29.7', p: 3 })];
    const v = run(rows).violations.find((x) => x.rule === 'kubelet-changed-undrained');
    expect(v).toMatchObject({
      line: 6,
      message: 'kubelet of w-1 changed v1.29.6 -> v1.29.7 while not drained (3 pods)',
    });
  });

  test('a kubelet restart on a schedulable node is caught from the exec line', () => {
    const rows = [...UP, ex('w-2', 'systemctl restart kubelet')];
    expect(run(rows).violations.find((x) => x.rule === 'kubelet-restart-undrained')).toMatchObject({
      line: 5,
    });
  });

  test('a worker kubelet newer than the lowest apiserver', () => {
    const rows = [
      ...UP,
      ...upgradeNode('cp-1', true, 2),
      // cp-2 still runs apiserver v1.29.6; w-1 is drained properly but upgraded too early
      st('w-1', { u: true, a: T, p: 0 }),
      st('w-1', { u: true, r: false, k: T, a: T, p: 0 }),
    ];
    const v = run(rows).violations.find((x) => x.rule === 'kubelet-newer-than-apiserver');
    expect(v).toMatchObject({ line: rows.length });
    expect(v!.message).toBe('kubelet of w-1 (v1.30.4) is newer than the lowest kube-apiserver (v1.29.6)');
  });

  test("a control plane's kubelet newer than its own apiserver", () => {
    const rows = [
      ...UP,
      st('cp-2', { u: true, api: 'v1.29.6', p: 0 }),
      st('cp-2', { u: true, r: false, k: T, api: 'v1.29.6' }),
    ];
    const v = run(rows).violations.find((x) => x.rule === 'kubelet-newer-than-apiserver');
    expect(v).toMatchObject({
      line: 6,
      message: 'kubelet of cp-2 (v1.30.4) is newer than its own kube-apiserver (v1.29.6)',
    });
  });

  test('a node schedulable at up left cordoned', () => {
    const rows = CLEAN.slice(0, -1);
    const v = run(rows).violations.find((x) => x.rule === 'left-cordoned');
    expect(v).toMatchObject({ line: rows.length, message: 'w-2 was schedulable at up and is left cordoned' });
  });

  test('a node not at the target at the end', () => {
    const rows = [
      ...UP,
      ...upgradeNode('cp-1', true, 2),
      ...upgradeNode('cp-2', true, 1),
      ...upgradeNode('w-1', false, 3),
    ];
    const v = run(rows).violations.filter((x) => x.rule === 'not-at-target');
    expect(v).toHaveLength(1);
    expect(v[0]).toMatchObject({
      line: 4,
      message: 'w-2 not at v1.30.4 at the end: kubelet v1.29.6, kubeadm v1.29.6',
    });
  });

  test('kubeadm upgrade apply on two control planes in one hop', () => {
    const rows = [
      ...UP,
      ex('cp-1', 'kubeadm upgrade apply v1.30.4 -y'),
      ex('cp-2', 'kubeadm upgrade apply v1.30.4 -y'),
    ];
    const v = run(rows).violations.find((x) => x.rule === 'apply-twice');
    expect(v).toMatchObject({ line: 6 });
    // a dry run or a failed apply does not count
    const ok = [
      ...UP,
      ex('cp-1', 'kubeadm upgrade apply v1.30.4 --dry-run'),
      ex('cp-2', 'kubeadm upgrade apply v1.30.4 -y', 1),
      ex('cp-1', 'kubeadm upgrade apply v1.30.4 -y'),
    ];
    expect(run(ok).violations.find((x) => x.rule === 'apply-twice')).toBeUndefined();
  });

  test('a line that is not JSON is reported', () => {
    const v = checkEvents([...lines(UP), '{oops'], { target: 'v1.29.6' }).violations;
    expect(v).toEqual([{ line: 5, rule: 'format', message: 'not a JSON object' }]);
  });
});
