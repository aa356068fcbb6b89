/** `kupgrade approve`: approves the open gate (or the named one, when it is the open one). */
import { GATES, isGateName, type GateName } from '../../shared/gates';
import { approveUpdate, stateQuery } from '../../shared/messages';
import { clusterArg, CONN_FLAGS, str } from '../args';
import { identityOf, upgradeHandle, withCli } from '../client';
import type { Command } from '../command';
import { CommandError, UsageError } from '../usage';

export const approve: Command = {
  help: {
    name: 'approve',
    summary: 'Approve the open gate of an upgrade (refused when that gate is not open).',
    usage: 'kupgrade approve CLUSTER [--gate GATE] [--by NAME] [--comment TEXT]',
    flags: [
      ['--gate GATE', `the gate to approve (${GATES.join(', ')}); default: the open one`],
      [
        '--by NAME',
        'who approves: must be one of the approvers the worker config names (default: KUPGRADE_IDENTITY or $USER)',
      ],
      ['--comment TEXT', 'why, e.g. a change ticket'],
      ...CONN_FLAGS,
    ],
    examples: [
      'kupgrade approve prod-bj --gate control-plane --by alice --comment "CAB-1234"',
      `temporal workflow update execute --workflow-id kupgrade-prod-bj --name approve --input '{"gate":"workers","by":"alice"}'`,
    ],
  },
  flags: { gate: { type: 'string' }, by: { type: 'string' }, comment: { type: 'string' } },
  async run(p, io) {
    const cluster = clusterArg(p, 'approve');
    const gateFlag = str(p, 'gate');
    if (gateFlag !== undefined && !isGateName(gateFlag)) {
      throw new UsageError(`--gate: unknown gate "${gateFlag}"; one of ${GATES.join(', ')}`);
    }
    const rec = await withCli(
      p,
      async (cli) => {
        const handle = upgradeHandle(cli, cluster);
        let gate = gateFlag as GateName | undefined;
        if (!gate) {
          const state = await handle.query(stateQuery);
          if (!state.gate)
            throw new CommandError(
              `no gate is open on ${cluster} (phase ${state.phase}); nothing to approve`,
            );
          gate = state.gate.name;
        }
        return handle.executeUpdate(approveUpdate, {
          args: [{ gate, by: identityOf(p), comment: str(p, 'comment') }],
        });
      },
      cluster,
    );
    io.out(
      `approved gate ${rec.gate}${rec.hop !== undefined ? ` (hop ${rec.hop + 1})` : ''} of ${cluster} by ${rec.by}`,
    );
    return 0;
  },
};
