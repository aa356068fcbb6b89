/**
 * A pflag-like command-line parser (what cobra-based kubeadm/kubectl/etcdctl use), pure, so the
 * shims reject unknown flags with the real tools' texts: `unknown flag: --foo`,
 * `unknown shorthand flag: 'x' in -x`, `flag needs an argument: --config`.
 */

export interface FlagDef {
  name: string;
  short?: string;
  type: 'bool' | 'string';
}

export interface Parsed {
  flags: Record<string, string | boolean>;
  args: string[];
  error: string | null;
}

export function parseFlags(argv: string[], defs: FlagDef[]): Parsed {
  const byName = new Map(defs.map((d) => [d.name, d]));
  const byShort = new Map(defs.filter((d) => d.short).map((d) => [d.short!, d]));
  const flags: Record<string, string | boolean> = {};
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      const d = byName.get(name);
      if (!d) return { flags, args, error: `unknown flag: --${name}` };
      if (d.type === 'bool') {
        if (eq < 0) flags[name] = true;
        else {
          const v = a.slice(eq + 1);
          if (!['true', 'false', '1', '0', 't', 'f', 'TRUE', 'FALSE', 'True', 'False'].includes(v)) {
            return {
              flags,
              args,
              error: `invalid argument "${v}" for "--${name}" flag: strconv.ParseBool: parsing "${v}": invalid syntax`,
            };
          }
          flags[name] = ['true', '1', 't', 'TRUE', 'True'].includes(v);
        }
      } else if (eq >= 0) flags[name] = a.slice(eq + 1);
      else if (i + 1 < argv.length) flags[name] = argv[++i]!;
      else return { flags, args, error: `flag needs an argument: --${name}` };
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const c = a[j]!;
        const d = byShort.get(c);
        if (!d) return { flags, args, error: `unknown shorthand flag: '${c}' in ${a}` };
        if (d.type === 'bool') {
          flags[d.name] = true;
          continue;
        }
        let v = a.slice(j + 1);
        if (v.startsWith('=')) v = v.slice(1);
        if (v === '') {
          if (i + 1 >= argv.length) return { flags, args, error: `flag needs an argument: '${c}' in -${c}` };
          v = argv[++i]!;
        }
        flags[d.name] = v;
        break;
      }
      continue;
    }
    args.push(a);
  }
  return { flags, args, error: null };
}

export function str(p: Parsed, name: string): string | undefined {
  const v = p.flags[name];
  return typeof v === 'string' ? v : undefined;
}

export function bool(p: Parsed, name: string, dflt = false): boolean {
  const v = p.flags[name];
  return typeof v === 'boolean' ? v : v === undefined ? dflt : v === 'true';
}

/**
 * Splits the leading subcommand words from argv, skipping global flags (and their values) that
 * may precede them (`kubectl -n kube-system get cm ...`).
 */
export function splitCommand(
  argv: string[],
  globalStringFlags: FlagDef[],
  depth: number,
): { words: string[]; rest: string[] } {
  const words: string[] = [];
  const rest: string[] = [];
  const longs = new Set(globalStringFlags.map((d) => `--${d.name}`));
  const shorts = new Set(globalStringFlags.filter((d) => d.short).map((d) => `-${d.short}`));
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (words.length < depth && !a.startsWith('-')) {
      words.push(a);
      continue;
    }
    rest.push(a);
    if ((longs.has(a) || shorts.has(a)) && i + 1 < argv.length) rest.push(argv[++i]!);
  }
  return { words, rest };
}
