/** `kupgrade status`: one look at an upgrade's state. */
import { clusterArg, CONN_FLAGS, outputFormat, outputHelp, OUTPUT_OPTION } from '../args';
import { upgradeState, withCli } from '../client';
import { print, type Command } from '../command';
import { watchScreen } from '../render';

export const status: Command = {
  help: {
    name: 'status',
    summary: 'The state of an upgrade (phase, hop, gate, nodes, failures, approvals).',
    usage: 'kupgrade status CLUSTER [-o json|yaml]',
    flags: [outputHelp('the watch screen'), ...CONN_FLAGS],
    examples: ['kupgrade status prod-bj', 'kupgrade status prod-bj -o json | jq -r .phase'],
  },
  flags: OUTPUT_OPTION,
  async run(p, io) {
    const cluster = clusterArg(p, 'status');
    outputFormat(p);
    const state = await withCli(p, (cli) => upgradeState(cli, cluster), cluster);
    print(io, state, p, () => watchScreen(state));
    return 0;
  },
};
