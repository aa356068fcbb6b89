/** Usage errors exit 2 (kubectl's habit: 0 success, 1 failure, 2 bad usage); others exit 1. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export class CommandError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CommandError';
  }
}

export interface CommandHelp {
  name: string;
  summary: string;
  usage: string;
  flags: [string, string][];
  examples: string[];
}

export function renderHelp(h: CommandHelp): string {
  const width = Math.max(0, ...h.flags.map(([f]) => f.length));
  return [
    h.summary,
    '',
    'Usage:',
    `  ${h.usage}`,
    ...(h.flags.length ? ['', 'Flags:', ...h.flags.map(([f, d]) => `  ${f.padEnd(width)}   ${d}`)] : []),
    ...(h.examples.length ? ['', 'Examples:', ...h.examples.map((e) => `  ${e}`)] : []),
    '',
  ].join('\n');
}
