/**
 * Runner.transaction: a cancelled activity does not leave while its transaction runs on the node.
 * The wait it was doing is killed (the pool rejects on abort), so it attaches again, without the
 * cancellation signal, heartbeating, and reports the cancellation only once the step has ended.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { Runner } from '../../src/activities/runner';
import { raw } from '../../src/ssh/command';
import { unwrapDetached } from '../../src/ssh/detached';
import type { RunOptions, RunResult, SshExecutor, SshTarget } from '../../src/ssh/types';

const target: SshTarget = { name: 'cp-1', host: '192.0.2.11', port: 22, user: 'root', sudo: false };

describe('Runner.transaction on cancellation', () => {
  it('waits for the detached step to end before rethrowing the cancellation', async () => {
    const calls: { id?: string; withSignal: boolean; at: number }[] = [];
    let stepEndedAt = 0;
    const ssh: SshExecutor = {
      async run(_t: SshTarget, line: string, opts?: RunOptions): Promise<RunResult> {
        calls.push({ id: unwrapDetached(line)?.id, withSignal: !!opts?.signal, at: Date.now() });
        if (calls.length === 1) {
          // the first wait: killed by the abort, as the pool does
          return new Promise((_resolve, reject) =>
            opts!.signal!.addEventListener('abort', () => reject(opts!.signal!.reason as Error), {
              once: true,
            }),
          );
        }
        // the second wait attaches and returns when the step ends
        await new Promise((r) => setTimeout(r, 300));
        stepEndedAt = Date.now();
        return { exitCode: 0, stdout: 'done\n', stderr: '', truncated: false, durationMs: 300 };
      },
      close: async () => undefined,
    };
    const run = new Runner({ ssh, heartbeatIntervalMs: 50 });
    const env = new MockActivityEnvironment();
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => beats.push(d));
    const p = env.run(() =>
      run.transaction(target, 'upgrade-apply-v1.30.4', raw('kubeadm upgrade apply v1.30.4 --yes'), {
        step: 'upgrade-apply',
      }),
    );
    await new Promise((r) => setTimeout(r, 100));
    env.cancel('CANCELLED');
    const settled = await p.then(
      () => ({ ok: true, at: Date.now() }),
      (e: unknown) => ({ ok: false, at: Date.now(), e }),
    );
    expect(settled.ok).toBe(false);
    expect(calls.map((c) => [c.id, c.withSignal])).toEqual([
      ['upgrade-apply-v1.30.4', true],
      ['upgrade-apply-v1.30.4', false],
    ]);
    expect(stepEndedAt).toBeGreaterThan(0);
    expect(settled.at).toBeGreaterThanOrEqual(stepEndedAt);
    expect(beats.some((b) => (b as { waiting?: string }).waiting === 'upgrade-apply-v1.30.4')).toBe(true);
  });
});
