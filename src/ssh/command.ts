/**
 * Building remote command lines. sshd hands the command line to the user's shell, so every value
 * that is not a fixed part of a command is POSIX single-quoted; there is no API that pastes an
 * unquoted string into a command except `raw()`, which is for constant shell syntax in our code.
 *
 * `ShellCommand` is a branded string. The brand is a compile-time guarantee only, so the `sh` tag
 * also needs to know at run time whether a value is a ShellCommand (inserted as is) or a plain
 * string (quoted). It keeps a bounded registry of the command lines this module produced. A plain
 * string that happens to equal a command line built here would be inserted as is: that can only
 * re-create a command that this process already built from quoted parts, never inject new syntax.
 */

export type ShellCommand = string & { readonly __brand: 'ShellCommand' };

const REGISTRY_LIMIT = 50_000;
const registry = new Set<string>();

function brand(s: string): ShellCommand {
  // Re-insert so a command in use is the newest entry; drop the oldest half when full.
  registry.delete(s);
  registry.add(s);
  if (registry.size > REGISTRY_LIMIT) {
    let drop = REGISTRY_LIMIT / 2;
    for (const k of registry) {
      if (drop-- <= 0) break;
      registry.delete(k);
    }
  }
  return s as ShellCommand;
}

/** True when `v` is a command line built by cmd(), sh() or raw() in this process. */
export function isShellCommand(v: unknown): v is ShellCommand {
  return typeof v === 'string' && registry.has(v);
}

/** Characters that never need quoting in any POSIX shell word. */
const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * POSIX single-quote one argument: `it's` → `'it'\''s'`. Words made only of safe characters are
 * left bare for readable logs. NUL cannot be passed in an argv element at all, so it is refused.
 */
export function quote(arg: string): string {
  if (typeof arg !== 'string') throw new TypeError(`quote: expected a string, got ${typeof arg}`);
  if (arg.includes('\0')) throw new Error('quote: an argument cannot contain a NUL byte');
  if (arg === '') return "''";
  if (SAFE.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** argv → one command line; each element arrives at the program as exactly one argument. */
export function cmd(...argv: string[]): ShellCommand {
  if (argv.length === 0) throw new Error('cmd: empty argv');
  return brand(argv.map(quote).join(' '));
}

/**
 * Tagged template: the literal parts are shell syntax written in our code; every `${value}` is
 * quoted as one word, except a ShellCommand, which is inserted as is. Numbers must be finite.
 *
 *   sh`${cmd('kubectl', 'drain', node)} 2>&1 | tail -n 50`
 */
export function sh(
  strings: TemplateStringsArray,
  ...values: (string | number | ShellCommand)[]
): ShellCommand {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    let part: string;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new Error(`sh: non-finite number ${v}`);
      part = String(v);
    } else if (isShellCommand(v)) {
      part = v;
    } else {
      part = quote(v);
    }
    out += part + (strings[i + 1] ?? '');
  });
  return brand(out);
}

/**
 * Trusted shell text from our own code or the operator's inventory (e.g. `rollout.cni.command`),
 * never from a command's output or a value read off a node.
 */
export function raw(text: string): ShellCommand {
  if (text.includes('\0')) throw new Error('raw: a command cannot contain a NUL byte');
  return brand(text);
}

/** `a && b && c`: stops at the first failure. */
export function and(...parts: ShellCommand[]): ShellCommand {
  for (const p of parts)
    if (!isShellCommand(p)) throw new TypeError('and: every part must be a ShellCommand');
  return brand(parts.join(' && '));
}

/** Runs `command` through `sh -c` as one argument, e.g. under sudo so the whole line is privileged. */
export function wrapShell(command: ShellCommand, prefix: string[] = []): ShellCommand {
  return cmd(...prefix, 'sh', '-c', command);
}
