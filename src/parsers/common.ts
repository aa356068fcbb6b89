/**
 * Shared helpers of the output parsers. Everything in src/parsers is pure (no Node built-ins,
 * no I/O), so workflows and activities can both use it and tests can feed it recorded samples.
 */

/** Thrown when output does not look like the command's output at all (not for "bad news" outputs). */
export class ParseError extends Error {
  /** The first characters of the input, for the failure's details (never key material: command output only). */
  readonly excerpt: string;
  constructor(what: string, input: string) {
    super(`cannot parse ${what}: ${JSON.stringify(input.slice(0, 200))}`);
    this.name = 'ParseError';
    this.excerpt = input.slice(0, 200);
  }
}

export interface Semver {
  major: number;
  minor: number;
  patch: number;
  /** Pre-release suffix without the dash (`rc.1`), or undefined. */
  pre?: string;
  /** Without the `v`: `1.30.4` or `1.31.0-rc.1`. */
  text: string;
}

/** `v1.30.4`, `1.30.4`, `v1.31.0-rc.1` → Semver; undefined otherwise. */
export function parseSemver(s: string): Semver | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?$/.exec(s.trim());
  if (!m) return undefined;
  const v: Semver = { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), text: '' };
  if (m[4] !== undefined) v.pre = m[4];
  v.text = `${v.major}.${v.minor}.${v.patch}${v.pre ? `-${v.pre}` : ''}`;
  return v;
}

/** Numeric comparison of dotted release strings (`150500.1.1` vs `150500.2.1`). */
export function compareDotted(a: string, b: string): number {
  const pa = a.split(/[.~+-]/);
  const pb = b.split(/[.~+-]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? '';
    const y = pb[i] ?? '';
    const nx = /^\d+$/.test(x) ? Number(x) : NaN;
    const ny = /^\d+$/.test(y) ? Number(y) : NaN;
    if (!Number.isNaN(nx) && !Number.isNaN(ny)) {
      if (nx !== ny) return nx - ny;
    } else if (x !== y) {
      return x < y ? -1 : 1;
    }
  }
  return 0;
}

/** The text from the first `{` to the last `}`: kubectl and kubeadm may print log lines around JSON. */
export function jsonIn(text: string): unknown {
  const a = text.indexOf('{');
  const b = text.lastIndexOf('}');
  if (a < 0 || b < a) throw new Error('no JSON object in the output');
  return JSON.parse(text.slice(a, b + 1)) as unknown;
}

export function lines(text: string): string[] {
  return text.replace(/\r\n/g, '\n').split('\n');
}

/**
 * Column-aligned tables as Go's tabwriter prints them (kubectl, kubeadm): cells start at the
 * header's column offsets; header names may contain single spaces ("API GROUP"), columns are
 * separated by two or more spaces.
 */
export function headerColumns(header: string): { name: string; start: number }[] {
  const cols: { name: string; start: number }[] = [];
  for (const m of header.matchAll(/\S+(?: \S+)*/g)) cols.push({ name: m[0], start: m.index });
  return cols;
}

export function sliceRow(line: string, cols: { name: string; start: number }[]): Record<string, string> {
  const row: Record<string, string> = {};
  cols.forEach((c, i) => {
    const end = i + 1 < cols.length ? (cols[i + 1]?.start ?? line.length) : line.length;
    row[c.name] = line.slice(c.start, end).trim();
  });
  return row;
}

/** `v1.30.4` → `1.30.4` (the form kubeadm prints in some outputs and packages use); no check. */
export function withoutV(s: string): string {
  return s.trim().replace(/^v/, '');
}
