/** `kupgrade worker`: runs the Temporal worker, which alone holds the SSH keys. */
import { CONN_FLAGS, str } from '../args';
import type { Command } from '../command';

export const worker: Command = {
  help: {
    name: 'worker',
    summary: 'Run the kupgrade Temporal worker (it holds the SSH keys named by the inventories).',
    usage: 'kupgrade worker --config worker.yaml',
    flags: [
      [
        '--config FILE',
        'the worker config: clusters, their SSH credentials, allowed CNI commands, approvers (default: KUPGRADE_WORKER_CONFIG)',
      ],
      ...CONN_FLAGS,
    ],
    examples: ['TEMPORAL_ADDRESS=temporal.example:7233 kupgrade worker --config /etc/kupgrade/worker.yaml'],
  },
  flags: { config: { type: 'string' } },
  async run(p) {
    // Loaded lazily: the worker pulls in the workflow bundler, which the other commands never need.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { runWorker } = require('../../worker') as typeof import('../../worker');
    await runWorker({
      address: str(p, 'address'),
      namespace: str(p, 'namespace'),
      profile: str(p, 'profile'),
      trust: str(p, 'config'),
    });
    return 0;
  },
};
