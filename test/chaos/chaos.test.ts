/** The short seeded chaos run of `npm test` (the long soak is `npm run chaos`). */
import { runChaos } from './run';

jest.setTimeout(25 * 60_000);

describe('chaos (short, seeded)', () => {
  it('completes with every invariant held despite kills and faults', async () => {
    const report = await runChaos({
      seed: 'ci-1',
      workerKills: 3,
      serverKills: 1,
      speed: 60,
      log: () => undefined,
    });
    expect(report.reasons).toEqual([]);
    expect(report.passed).toBe(true);
    expect(report.kills.worker).toBe(3);
    expect(report.kills.server).toBe(1);
    expect(report.faults.hits).toBeGreaterThan(0);
    expect(report.finalPhase).toBe('done');
    expect(report.repeatedCommands).toEqual([]);
    // every worker was killed in the middle of kubeadm upgrade apply; no transaction was killed
    expect(report.transactionKills.apply).toBeDefined();
    expect(report.kills.aimed).toBeGreaterThanOrEqual(2);
    expect(report.transactions).toEqual({ killed: 0, reruns: 0 });
  });
});

describe('chaos on the real Kubernetes API (short, seeded)', () => {
  it('the same disruptions against the real kube-apiserver, controllers and kubectl: every invariant held', async () => {
    const report = await runChaos({
      seed: 'ci-real-1',
      workerKills: 2,
      serverKills: 1,
      speed: 60,
      api: 'real',
      log: () => undefined,
    });
    expect(report.reasons).toEqual([]);
    expect(report.passed).toBe(true);
    expect(report.kills.server).toBe(1);
    expect(report.finalPhase).toBe('done');
    expect(report.target).toBe('v1.34.4');
    expect(report.repeatedCommands).toEqual([]);
    expect(report.transactionKills.apply).toBeDefined();
    expect(report.transactions).toEqual({ killed: 0, reruns: 0 });
  });
});
