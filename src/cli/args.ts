/**
 * Flag parsing for one command: node's parseArgs (strict), turned into UsageErrors that name the
 * flag and the fix.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './usage';

export type FlagSpec = NonNullable<ParseArgsConfig['options']>;

export const GLOBAL_FLAGS: FlagSpec = {
  help: { type: 'boolean', short: 'h' },
  address: { type: 'string' },
  namespace: { type: 'string', short: 'n' },
  profile: { type: 'string' },
};

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

export function parseFlags(command: string, argv: string[], spec: FlagSpec): Parsed {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...GLOBAL_FLAGS, ...spec },
      allowPositionals: true,
      strict: true,
    });
    return { values: values as Parsed['values'], positionals };
  } catch (err) {
    const msg = (err as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw new UsageError(`${msg}\nSee 'kupgrade ${command} --help'.`);
  }
}

export function str(p: Parsed, name: string): string | undefined {
  const v = p.values[name];
  return typeof v === 'string' ? v : undefined;
}

export function required(p: Parsed, name: string, command: string, hint: string): string {
  const v = str(p, name);
  if (!v) throw new UsageError(`flag --${name} is required: ${hint}\nSee 'kupgrade ${command} --help'.`);
  return v;
}

/** The CLUSTER positional, exactly one. */
export function clusterArg(p: Parsed, command: string): string {
  if (p.positionals.length !== 1) {
    throw new UsageError(
      `kupgrade ${command} takes exactly one CLUSTER name (got ${p.positionals.length}); e.g. 'kupgrade ${command} prod-bj'`,
    );
  }
  const name = p.positionals[0];
  if (!/^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$/.test(name)) {
    throw new UsageError(
      `CLUSTER "${name}" is not a valid cluster name (lower-case letters, digits, '-' and '.')`,
    );
  }
  return name;
}

export type OutputFormat = 'table' | 'json' | 'yaml';
export function outputFormat(p: Parsed): OutputFormat {
  const o = str(p, 'output') ?? 'table';
  if (o !== 'table' && o !== 'json' && o !== 'yaml') {
    throw new UsageError(`--output must be one of json|yaml (got "${o}")`);
  }
  return o;
}
