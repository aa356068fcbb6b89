/**
 * `kupgrade`: the operator CLI. Exit codes follow kubectl: 0 success, 1 failure, 2 bad usage;
 * errors go to stderr and name the fix.
 */
import { parseFlags } from './args';
import type { Io } from './command';
import { COMMANDS } from './commands';
import { CommandError, renderHelp, UsageError } from './usage';

const TOP_HELP = `kupgrade: smooth, resumable kubeadm upgrades as a durable Temporal workflow.

Usage:
  kupgrade COMMAND [flags]

Commands:
${Object.values(COMMANDS)
  .map((c) => `  ${c.help.name.padEnd(9)} ${c.help.summary}`)
  .join('\n')}

Run 'kupgrade COMMAND --help' for a command's flags and examples.
`;

export async function main(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out(TOP_HELP);
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.err(`error: unknown command "${name}" for "kupgrade"\nRun 'kupgrade --help' for usage.`);
    return 2;
  }
  try {
    const parsed = parseFlags(name, rest, command.flags);
    if (parsed.values.help) {
      io.out(renderHelp(command.help));
      return 0;
    }
    return await command.run(parsed, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`error: ${err.message}`);
      return 2;
    }
    if (err instanceof CommandError) {
      io.err(`error: ${err.message}`);
      return err.exitCode;
    }
    io.err(`error: ${(err as Error).message ?? String(err)}`);
    return 1;
  }
}

/** Runs the CLI on this process's argv and streams (bin/kupgrade). */
export function cli(): void {
  main(process.argv.slice(2), {
    out: (t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
    err: (t) => process.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
    isTTY: Boolean(process.stdout.isTTY),
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`error: ${String(err)}\n`);
      process.exitCode = 1;
    },
  );
}

if (require.main === module) cli();
