/** `kupgrade pause|resume`: hold the rollout between nodes, and let it go on. */
import { pauseUpdate, resumeUpdate } from '../../shared/messages';
import type { DecisionRecord, PauseRequest } from '../../shared/types';
import { clusterArg, CONN_FLAGS, str } from '../args';
import { identityOf, upgradeHandle, withCli } from '../client';
import type { Command } from '../command';

function pauseResume(name: 'pause' | 'resume'): Command {
  return {
    help: {
      name,
      summary:
        name === 'pause'
          ? 'Pause between nodes: running nodes finish, no new node starts.'
          : 'Resume a paused upgrade.',
      usage: `kupgrade ${name} CLUSTER [--by NAME] [--comment TEXT]`,
      flags: [['--by NAME', 'who (default: $USER)'], ['--comment TEXT', 'why'], ...CONN_FLAGS],
      examples: [`kupgrade ${name} prod-bj --by alice`],
    },
    flags: { by: { type: 'string' }, comment: { type: 'string' } },
    async run(p, io) {
      const cluster = clusterArg(p, name);
      const rec = await withCli(
        p,
        (cli) =>
          upgradeHandle(cli, cluster).executeUpdate<DecisionRecord, [PauseRequest]>(
            (name === 'pause' ? pauseUpdate : resumeUpdate).name,
            { args: [{ by: identityOf(p), comment: str(p, 'comment') }] },
          ),
        cluster,
      );
      io.out(`${name}d ${cluster} (by ${rec.by})`);
      return 0;
    },
  };
}

export const pause = pauseResume('pause');
export const resume = pauseResume('resume');
