/**
 * Flag parsing for every command: node's parseArgs (strict), and the checks of the values the
 * operator typed (inventory file, --to, --gates, --max-unavailable, CLUSTER, -o), each a UsageError
 * (exit 2) that names the flag and the fix before anything is sent to Temporal.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import {
  checkKeyFiles,
  InventoryError,
  loadInventory,
  parseTargetVersion,
  type Inventory,
} from '../inventory';
import { GATES, isGateName, type GateName } from '../shared/gates';
import { UsageError } from './usage';

export type FlagSpec = NonNullable<ParseArgsConfig['options']>;

const GLOBAL_FLAGS: FlagSpec = {
  help: { type: 'boolean', short: 'h' },
  address: { type: 'string' },
  namespace: { type: 'string', short: 'n' },
  profile: { type: 'string' },
};

/** The help lines of GLOBAL_FLAGS' connection flags, for the commands that talk to Temporal. */
export const CONN_FLAGS: [string, string][] = [
  ['--address HOST:PORT', 'Temporal frontend (default: TEMPORAL_ADDRESS, the profile, or localhost:7233)'],
  ['-n, --namespace NS', 'Temporal namespace (default: TEMPORAL_NAMESPACE or default)'],
  ['--profile NAME', 'envconfig profile of ~/.config/temporalio/temporal.toml'],
];

/** `-o json|yaml`: its parseArgs option, and its help row (`otherwise`: what prints without it). */
export const OUTPUT_OPTION = { output: { type: 'string', short: 'o' } } as const;
export function outputHelp(otherwise?: string): [string, string] {
  return ['-o, --output FORMAT', otherwise ? `json|yaml (default: ${otherwise})` : 'json|yaml'];
}

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

/** The flags of inventoryArg and targetArg. */
export const INVENTORY_FLAGS: FlagSpec = {
  file: { type: 'string', short: 'f' },
  to: { type: 'string' },
};

/** The inventory named by the required -f/--file flag. */
export function inventoryArg(p: Parsed, command: string): Inventory {
  const file = required(p, 'file', command, 'the cluster inventory, e.g. -f cluster.yaml');
  return explainInventoryError(() => loadInventory(file));
}

/** The key file and known_hosts checks of an inventory. */
export function checkInventoryKeyFiles(inventory: Inventory): void {
  explainInventoryError(() => checkKeyFiles(inventory));
}

function explainInventoryError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof InventoryError) throw new UsageError(err.message);
    throw err;
  }
}

/** The required --to: a Kubernetes version (1.30, v1.30.4). */
export function targetArg(p: Parsed, command: string): string {
  const target = required(p, 'to', command, 'the target version, e.g. --to 1.30');
  try {
    parseTargetVersion(target);
  } catch (err) {
    if (err instanceof InventoryError) {
      const i = err.issues[0];
      throw new UsageError(`--to: ${i.message}; fix: ${i.fix}`);
    }
    throw err;
  }
  return target;
}

/** --gates: a comma list of gate names, or none. */
export function gatesArg(p: Parsed): GateName[] | undefined {
  const text = str(p, 'gates');
  if (text === undefined) return undefined;
  if (text === '' || text === 'none') return [];
  const gates = text.split(',').map((g) => g.trim());
  for (const g of gates) {
    if (!isGateName(g)) {
      throw new UsageError(
        `--gates: unknown gate "${g}"; use a comma list of ${GATES.join(', ')} (or "none")`,
      );
    }
  }
  return gates as GateName[];
}

/** --max-unavailable: a count or a percentage. */
export function maxUnavailableArg(p: Parsed): number | `${number}%` | undefined {
  const text = str(p, 'max-unavailable');
  if (text === undefined) return undefined;
  if (/^[1-9]\d{0,5}$/.test(text)) return Number(text);
  const m = /^([1-9]\d?|100)%$/.exec(text);
  if (m) return `${Number(m[1])}%`;
  throw new UsageError(
    `--max-unavailable: "${text}" is neither a count ≥ 1 nor a percentage 1%–100% (e.g. 2 or 10%)`,
  );
}
