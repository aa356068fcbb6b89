/** `kupgrade watch`: the live view of an upgrade, redrawn on a terminal, one line per change when piped. */
import { clusterArg, CONN_FLAGS, str } from '../args';
import { upgradeState, withCli } from '../client';
import type { Command } from '../command';
import { watchScreen } from '../render';
import { UsageError } from '../usage';

const TERMINAL = new Set(['done', 'aborted', 'failed']);

export const watch: Command = {
  help: {
    name: 'watch',
    summary: 'Live view of an upgrade: nodes, steps, versions, the open gate and its approve command.',
    usage: 'kupgrade watch CLUSTER [--interval SECONDS] [--once]',
    flags: [
      ['--interval SECONDS', 'refresh period (default 1)'],
      ['--once', 'print one screen and exit'],
      ...CONN_FLAGS,
    ],
    examples: ['kupgrade watch prod-bj', 'kupgrade watch prod-bj --once | less'],
  },
  flags: { interval: { type: 'string' }, once: { type: 'boolean' } },
  async run(p, io) {
    const cluster = clusterArg(p, 'watch');
    const interval = Number(str(p, 'interval') ?? '1');
    if (!(interval > 0 && interval <= 3600))
      throw new UsageError('--interval must be a number of seconds between 0 and 3600');
    return withCli(
      p,
      async (cli) => {
        let last = '';
        for (;;) {
          const state = await upgradeState(cli, cluster);
          const screen = watchScreen(state);
          if (io.isTTY) {
            io.out(`\x1b[H\x1b[2J${screen}`);
          } else {
            // Piped: one plain line per change, not a redraw.
            const line =
              `${new Date().toISOString()} phase=${state.phase}${state.gate ? ` gate=${state.gate.name}` : ''} ` +
              state.nodes.map((n) => `${n.name}:${n.status}${n.step ? `/${n.step}` : ''}`).join(' ');
            if (line.slice(25) !== last) io.out(line);
            last = line.slice(25);
          }
          if (p.values.once || TERMINAL.has(state.phase)) {
            if (!io.isTTY) io.out(screen);
            return state.phase === 'done' || p.values.once ? 0 : 1;
          }
          await new Promise((r) => setTimeout(r, interval * 1000));
        }
      },
      cluster,
    );
  },
};
