/** `kupgrade history`: one upgrade step by step, with who approved and decided what, and why. */
import { stateQuery } from '../../shared/messages';
import type { UpgradeState } from '../../shared/types';
import { clusterArg, CONN_FLAGS, outputFormat, outputHelp, OUTPUT_OPTION } from '../args';
import { upgradeHandle, withCli } from '../client';
import { print, type Command } from '../command';
import { parentSteps, type HistoryStep } from '../history-events';
import { table } from '../render';

export const history: Command = {
  help: {
    name: 'history',
    summary: 'One upgrade step by step: node steps with times, approvals and decisions with who and why.',
    usage: 'kupgrade history CLUSTER [-o json|yaml]',
    flags: [outputHelp(), ...CONN_FLAGS],
    examples: ['kupgrade history prod-bj'],
  },
  flags: OUTPUT_OPTION,
  async run(p, io) {
    const cluster = clusterArg(p, 'history');
    outputFormat(p);
    const { state, events } = await withCli(
      p,
      async (cli) => {
        const handle = upgradeHandle(cli, cluster);
        const state = await handle.query(stateQuery);
        return { state, events: parentSteps(await handle.fetchHistory()) };
      },
      cluster,
    );
    const record = {
      cluster,
      phase: state.phase,
      approvals: state.approvals,
      decisions: state.decisions,
      failures: state.failures,
      nodes: state.nodes,
      parentEvents: events,
      timings: state.timings,
    };
    print(io, record, p, () => historyText(cluster, state, events));
    return 0;
  },
};

function historyText(cluster: string, state: UpgradeState, events: HistoryStep[]): string {
  return [
    `Upgrade of ${cluster} → ${state.target}: ${state.phase} (started ${state.timings.startedAt}${state.timings.finishedAt ? `, finished ${state.timings.finishedAt}` : ''})`,
    '',
    'Approvals and decisions:',
    table(
      ['AT', 'WHAT', 'BY', 'VIA', 'COMMENT'],
      [
        ...state.approvals.map((a) => [
          a.at,
          `approve ${a.gate}${a.hop !== undefined ? ` (hop ${a.hop + 1})` : ''}`,
          a.by,
          a.via,
          a.comment ?? '',
        ]),
        ...state.decisions.map((d) => [
          d.at,
          `${d.action}${d.node ? ` ${d.node}` : ''}`,
          d.by,
          d.via,
          d.comment ?? '',
        ]),
      ].sort((a, b) => a[0].localeCompare(b[0])),
    ),
    '',
    'Nodes:',
    table(
      ['NODE', 'STATUS', 'LAST STEP', 'VERSION', 'STARTED', 'FINISHED', 'ATTEMPTS'],
      state.nodes.map((n) => [
        n.name,
        n.status,
        n.step ?? '',
        n.version ?? '',
        n.startedAt ?? '',
        n.finishedAt ?? '',
        String(n.attempts),
      ]),
    ),
    '',
    'Steps of the run (parent workflow):',
    table(
      ['AT', 'STEP'],
      events.map((e) => [e.at, e.what]),
    ),
    ...(state.failures.length
      ? [
          '',
          'Failures:',
          ...state.failures.map(
            (f) =>
              `  ${f.at} ${f.node ?? ''} ${f.step} ${f.type}: ${f.message.split('\n')[0]}${f.resolution ? ` → ${f.resolution}` : ''}`,
          ),
        ]
      : []),
  ].join('\n');
}
