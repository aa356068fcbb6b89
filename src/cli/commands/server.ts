/** `kupgrade server`: the Temporal dev server, through scripts/server.sh. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { str } from '../args';
import type { Command } from '../command';
import { UsageError } from '../usage';

/** From dist/src/cli/commands/ to the repository root. */
const SERVER_SCRIPT = path.resolve(__dirname, '../../../../scripts/server.sh');

export const server: Command = {
  help: {
    name: 'server',
    summary: 'Run the Temporal dev server (SQLite file, Web UI, kupgrade search attributes).',
    usage: 'kupgrade server [--port 7233] [--ui-port 8233] [--db FILE]',
    flags: [
      ['--port PORT', 'gRPC port (default 7233)'],
      ['--ui-port PORT', 'Web UI port (default 8233)'],
      ['--db FILE', 'SQLite file (default .cache/temporal.db); state survives restarts'],
    ],
    examples: [
      'kupgrade server',
      'kupgrade server --port 7300 --ui-port 8300 --db /var/lib/kupgrade/temporal.db',
    ],
  },
  flags: { port: { type: 'string' }, 'ui-port': { type: 'string' }, db: { type: 'string' } },
  async run(p) {
    const args: string[] = [];
    for (const f of ['port', 'ui-port', 'db']) {
      const v = str(p, f);
      if (v !== undefined) args.push(`--${f}`, v);
    }
    for (const f of ['port', 'ui-port']) {
      const v = str(p, f);
      if (v !== undefined && !/^\d{1,5}$/.test(v))
        throw new UsageError(`--${f} must be a port number, got "${v}"`);
    }
    const r = spawnSync('bash', [SERVER_SCRIPT, ...args], { stdio: 'inherit' });
    return r.status ?? 1;
  },
};
