/** Small pure renderers shared by the shims: Go's tabwriter, durations, shell quoting. */

/**
 * Go `text/tabwriter` with `minwidth, tabwidth, padding, padchar ' ', flags 0` as kubeadm and
 * kubectl configure it: every cell but the last of a line is padded to the column's width
 * (max cell + padding, at least minwidth); the last cell is printed as is.
 */
export function tabwrite(rows: string[][], minwidth = 10, padding = 3): string {
  const widths: number[] = [];
  for (const r of rows) {
    r.slice(0, -1).forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, Math.max(minwidth, c.length + padding));
    });
  }
  return rows
    .map((r) => r.map((c, i) => (i < r.length - 1 ? c.padEnd(widths[i]!) : c)).join('') + '\n')
    .join('');
}

/** kubectl printers use tabwriter(out, 0, 8, 3, ' ', 0) — gap 3, no minimum width. */
export function kubectlTable(rows: string[][]): string {
  return tabwrite(rows, 0, 3);
}

/** Go's time.Duration.String() for whole seconds/millis: 5m0s, 30s, 2m0s, 1h0m0s, 1.5s. */
export function goDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  const totalS = ms / 1000;
  const h = Math.floor(totalS / 3600);
  const m = Math.floor((totalS % 3600) / 60);
  const s = totalS - h * 3600 - m * 60;
  const sStr = Number.isInteger(s) ? `${s}s` : `${Number(s.toFixed(9))}s`;
  if (h > 0) return `${h}h${m}m${sStr}`;
  if (m > 0) return `${m}m${sStr}`;
  return sStr;
}

/** Parses a Go duration (`5m`, `300s`, `1h30m`, `0`) or a bare number of seconds. */
export function parseGoDuration(s: string): number | null {
  if (/^\d+$/.test(s)) return Number(s) * 1000;
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
  let total = 0;
  let consumed = 0;
  for (const m of s.matchAll(re)) {
    const n = Number(m[1]);
    total += m[2] === 'h' ? n * 3600_000 : m[2] === 'm' ? n * 60_000 : m[2] === 's' ? n * 1000 : n;
    consumed += m[0].length;
  }
  return consumed === s.length && consumed > 0 ? total : null;
}

/** kubectl's duration.HumanDuration (AGE column). */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 0) return '<invalid>';
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(s / 3600);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (h < 24 * 8) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  if (d < 365 * 2) return `${d}d`;
  return `${Math.floor(d / 365)}y`;
}

/** POSIX quoting for the `cmd` of exec events (only where needed, so lines stay readable). */
export function shellJoin(argv: string[]): string {
  return argv
    .map((a) => (a !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
    .join(' ');
}

/** kubeadm's backup folder timestamp format (Go "2006-01-02-15-04-05", local time). */
export function kubeadmTimestamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}-${p(d.getHours())}-${p(d.getMinutes())}-${p(d.getSeconds())}`;
}
