/** The benchmark's overhead per node: child workflow time minus the time the lab's tools held the commands. */
import { overheadPerNode } from '../../bench/run';
import type { TimelineEvent } from '../../bench/timeline';

const at = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms).toISOString();
const exec = (node: string, cmd: string, end: number, ms: number): TimelineEvent => ({
  ts: at(end),
  node,
  type: 'exec',
  cmd,
  exit: 0,
  ms,
});
const t0 = Date.UTC(2026, 0, 1);

describe('overheadPerNode', () => {
  test('subtracts the node’s own commands and the kubectl calls that name it, inside its children only', () => {
    const spans = new Map<string, [number, number][]>([
      [
        'w-1',
        [
          [t0 + 1000, t0 + 2000],
          [t0 + 5000, t0 + 9000],
        ],
      ],
      ['w-10', [[t0 + 1000, t0 + 3000]]],
    ]);
    const events = [
      exec('w-1', 'kubeadm version -o short', 500, 100), // preflight: before its children
      exec('w-1', 'yum install -y kubeadm-1.30.14-150500.1.1', 1900, 700),
      exec('cp-1', 'kubectl --kubeconfig=/etc/kubernetes/admin.conf drain w-1 --timeout=300s', 8000, 2500),
      exec(
        'cp-1',
        'kubectl --kubeconfig=/etc/kubernetes/admin.conf get pods --field-selector spec.nodeName=w-1',
        5200,
        100,
      ),
      exec('cp-1', 'kubectl --kubeconfig=/etc/kubernetes/admin.conf uncordon w-10', 2900, 300),
      { ts: at(1950), node: 'w-1', type: 'ssh', cmd: 'yum install', exit: 0 },
    ];
    const [w1, w10] = overheadPerNode(spans, events);
    expect(w1).toBe(1000 + 4000 - 700 - 2500 - 100);
    expect(w10).toBe(2000 - 300);
  });

  test('a node with no lab time is all overhead', () => {
    expect(overheadPerNode(new Map([['w-2', [[t0, t0 + 250]]]]), [])).toEqual([250]);
  });
});
