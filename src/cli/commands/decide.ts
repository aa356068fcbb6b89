/**
 * `kupgrade retry|skip|abort|accept`: the decisions on a blocked or failed run, one `decide` Update
 * each; they differ only in their help and in which flags they require.
 */
import { decideUpdate } from '../../shared/messages';
import { clusterArg, CONN_FLAGS, str } from '../args';
import { identityOf, upgradeHandle, withCli } from '../client';
import type { Command } from '../command';
import { UsageError } from '../usage';

type Decision = 'retry' | 'skip' | 'abort' | 'accept';

const SUMMARIES: Record<Decision, string> = {
  accept:
    'Accept a failed verify: the cluster is taken as it is, the run ends done (who and why recorded; --comment required).',
  retry: 'Retry the blocked node(s) of an upgrade.',
  skip: 'Skip a blocked worker (it stays at its version); control planes cannot be skipped.',
  abort: 'Abort the upgrade safely: nodes this run cordoned are uncordoned, others stay as they are.',
};

function decision(name: Decision): Command {
  return {
    help: {
      name,
      summary: SUMMARIES[name],
      usage:
        name === 'accept'
          ? 'kupgrade accept CLUSTER --comment TEXT [--by NAME]'
          : `kupgrade ${name} CLUSTER${name === 'skip' ? ' --node NODE' : ' [--node NODE]'} [--by NAME] [--comment TEXT]`,
      flags: [
        ...(name === 'accept'
          ? []
          : [
              [
                '--node NODE',
                name === 'skip' ? 'the blocked worker to skip' : 'the blocked node (default: all)',
              ] as [string, string],
            ]),
        ['--by NAME', 'who decides (default: $USER)'],
        ['--comment TEXT', name === 'accept' ? 'why the cluster is accepted as it is (required)' : 'why'],
        ...CONN_FLAGS,
      ],
      examples: [
        name === 'accept'
          ? 'kupgrade accept prod-bj --by alice --comment "CAB-1234: metrics-server CrashLoop is known"'
          : `kupgrade ${name} prod-bj${name === 'skip' ? ' --node w-3' : ''} --by alice`,
      ],
    },
    flags: { node: { type: 'string' }, by: { type: 'string' }, comment: { type: 'string' } },
    async run(p, io) {
      const cluster = clusterArg(p, name);
      const node = str(p, 'node');
      if (name === 'skip' && !node)
        throw new UsageError(`kupgrade skip needs --node NODE (the blocked worker to skip)`);
      if (name === 'accept' && !str(p, 'comment')?.trim())
        throw new UsageError(
          'kupgrade accept needs --comment TEXT: why the cluster is accepted as it is (recorded with --by)',
        );
      const rec = await withCli(
        p,
        (cli) =>
          upgradeHandle(cli, cluster).executeUpdate(decideUpdate, {
            args: [
              {
                action: name,
                node,
                by: identityOf(p),
                comment: str(p, 'comment'),
              },
            ],
          }),
        cluster,
      );
      io.out(`${rec.action}${rec.node ? ` ${rec.node}` : ''} on ${cluster}: accepted (by ${rec.by})`);
      return 0;
    },
  };
}

export const retry = decision('retry');
export const skip = decision('skip');
export const abort = decision('abort');
export const accept = decision('accept');
