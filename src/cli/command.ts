/** What every command is: its help, its flags, and a run that prints through `Io`. */
import { outputFormat, type FlagSpec, type Parsed } from './args';
import { formatted } from './render';
import type { CommandHelp } from './usage';

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  isTTY: boolean;
}

export interface Command {
  help: CommandHelp;
  flags: FlagSpec;
  /** Resolves to the exit code; throws UsageError (exit 2) or CommandError, which main.ts prints. */
  run(p: Parsed, io: Io): Promise<number>;
}

/** Prints `value` as -o asks: json or yaml, else the command's own text. */
export function print(io: Io, value: unknown, p: Parsed, text: () => string): void {
  const f = outputFormat(p);
  io.out(f === 'table' ? text() : formatted(value, f));
}
