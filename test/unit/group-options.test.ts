/** The options of a step group: the sum of its steps' budgets, the strictest heartbeat and retries. */
import { activityOptions, groupActivityOptions } from '../../src/workflows/options';

describe('groupActivityOptions', () => {
  it("the steps after the drain: their budgets added, the shortest heartbeat, wait-ready's 3 attempts", () => {
    const o = groupActivityOptions(['package', 'quick', 'ready', 'quick']);
    expect(o.startToCloseTimeout).toBe((20 + 3 + 15 + 3) * 60_000);
    expect(o.heartbeatTimeout).toBe(60_000);
    expect(o.retry).toEqual({ ...activityOptions('ready').retry, maximumAttempts: 3 });
  });

  it("a worker's prepare steps: 63 minutes, kubeadm's 5 attempts, the package step's 1-minute heartbeat", () => {
    const o = groupActivityOptions(['quick', 'package', 'kubeadm']);
    expect(o.startToCloseTimeout).toBe(63 * 60_000);
    expect(o.heartbeatTimeout).toBe(60_000);
    expect(o.retry?.maximumAttempts).toBe(5);
    expect(o.retry?.nonRetryableErrorTypes).toEqual(activityOptions('quick').retry?.nonRetryableErrorTypes);
  });

  it('steps without a heartbeat timeout of their own still get one (the group heartbeats)', () => {
    const o = groupActivityOptions(['quick', 'quick']);
    expect(o.startToCloseTimeout).toBe(6 * 60_000);
    expect(o.heartbeatTimeout).toBe(60_000);
    expect(o.retry?.maximumAttempts).toBe(8);
  });
});
