/**
 * Kubernetes version arithmetic and hop planning. Pure functions: workflows, activities and the CLI
 * import them. Versions are written `v1.30.4` (exact) or `v1.30` (a minor, patch to be resolved).
 */

export interface KubeVersion {
  major: number;
  minor: number;
  /** Undefined when only a minor was given (`1.30`): the newest patch is resolved from the repository. */
  patch?: number;
}

const VERSION_RE = /^v?(\d{1,3})\.(\d{1,3})(?:\.(\d{1,4}))?$/;

/** Error thrown by the hop planner; `code` is stable and mapped to ErrorType.HopRefused by workflows. */
export class HopError extends Error {
  constructor(
    message: string,
    readonly code: 'InvalidVersion' | 'Downgrade' | 'MajorChange' | 'MissingMinor' | 'TooManyHops',
  ) {
    super(message);
    this.name = 'HopError';
  }
}

export function isVersion(text: string): boolean {
  return VERSION_RE.test(text.trim());
}

/** Parses `1.30`, `v1.30`, `1.30.4`, `v1.30.4` (a package suffix such as `-150500.1.1` is not accepted). */
export function parseVersion(text: string): KubeVersion {
  const m = VERSION_RE.exec(text.trim());
  if (!m) {
    throw new HopError(`"${text}" is not a Kubernetes version (expected 1.30 or v1.30.4)`, 'InvalidVersion');
  }
  const v: KubeVersion = { major: Number(m[1]), minor: Number(m[2]) };
  if (m[3] !== undefined) v.patch = Number(m[3]);
  return v;
}

function formatVersion(v: KubeVersion): string {
  return v.patch === undefined ? `v${v.major}.${v.minor}` : `v${v.major}.${v.minor}.${v.patch}`;
}

/** The `v1.30.4` / `v1.30` form of a version (throws HopError when the text is not one). */
export function withV(text: string): string {
  return formatVersion(parseVersion(text));
}

/** Same version, with or without the `v`; false when either is not a version. */
export function sameVersion(a: string, b: string): boolean {
  return isVersion(a) && isVersion(b) && withV(a) === withV(b);
}

/** `1.30` for any version of that minor. */
export function minorOf(text: string): string {
  const v = parseVersion(text);
  return `${v.major}.${v.minor}`;
}

/**
 * Compares two versions. A missing patch compares as -1 when `missingPatchLow` (default), so
 * `v1.30` < `v1.30.0`; pass false to compare minors only when one side has no patch.
 */
export function compareVersions(a: string | KubeVersion, b: string | KubeVersion): number {
  const x = typeof a === 'string' ? parseVersion(a) : a;
  const y = typeof b === 'string' ? parseVersion(b) : b;
  if (x.major !== y.major) return x.major - y.major;
  if (x.minor !== y.minor) return x.minor - y.minor;
  return (x.patch ?? -1) - (y.patch ?? -1);
}

/** True when `version` is at least `wanted` (an exact version, or a minor: any patch of it). */
export function atLeast(version: string, wanted: string): boolean {
  const v = parseVersion(version);
  const w = parseVersion(wanted);
  if (w.patch === undefined) return compareVersions({ ...v, patch: undefined }, w) >= 0;
  return compareVersions(v, w) >= 0;
}

export function lowestVersion(versions: string[]): string {
  return [...versions].sort(compareVersions)[0];
}

/** One hop of the upgrade, before the repository resolved its exact patch. */
export interface HopRequest {
  /** 0-based position in the run. */
  index: number;
  /** The lowest version a node of the cluster runs when this hop starts (`v1.29.6`, or `v1.29` for later hops). */
  from: string;
  /** The minor this hop reaches, `1.30`. */
  minor: string;
  /** The patch asked for (only on the last hop, when the target was exact); else the newest patch. */
  patch?: number;
}

export interface ComputeHopsOptions {
  /**
   * Minors known to exist in the package repository (`1.29`, `1.30`). When given, a hop to a minor
   * that is not in the list is refused rather than skipped.
   */
  availableMinors?: string[];
  /** Refuse plans longer than this (default 10). */
  maxHops?: number;
}

/**
 * Computes the hops from the current version(s) to the target, one minor at a time.
 *
 * - `current` is the cluster's version or the list of every component/node version; the lowest
 *   starts the first hop, the highest is checked against a downgrade.
 * - Same minor with a newer patch → one patch hop; same version → no hop.
 * - A target below any current version → `Downgrade`; a different major → `MajorChange`;
 *   an intermediate minor missing from `availableMinors` → `MissingMinor` (never skip a minor).
 */
export function computeHops(
  current: string | string[],
  target: string,
  options: ComputeHopsOptions = {},
): HopRequest[] {
  const currents = (Array.isArray(current) ? current : [current]).map((c) => parseVersion(c));
  if (currents.length === 0) throw new HopError('no current version given', 'InvalidVersion');
  const t = parseVersion(target);
  const low = [...currents].sort(compareVersions)[0];
  const high = [...currents].sort(compareVersions)[currents.length - 1];
  for (const c of currents) {
    if (c.major !== t.major) {
      throw new HopError(
        `upgrade from ${formatVersion(c)} to ${formatVersion(t)} changes the major version; refused`,
        'MajorChange',
      );
    }
  }
  // Downgrade: the target minor below the highest minor, or the same minor with a lower exact patch.
  if (
    t.minor < high.minor ||
    (t.minor === high.minor && t.patch !== undefined && high.patch !== undefined && t.patch < high.patch)
  ) {
    throw new HopError(
      `target ${formatVersion(t)} is older than ${formatVersion(high)} already running in the cluster; downgrades are refused`,
      'Downgrade',
    );
  }
  const hops: HopRequest[] = [];
  if (t.minor === low.minor) {
    // Patch hop (or nothing to do when every node is already at the exact target).
    if (t.patch !== undefined && low.patch !== undefined && t.patch <= low.patch) return [];
    hops.push({ index: 0, from: formatVersion(low), minor: `${t.major}.${t.minor}`, ...patchOf(t) });
  } else {
    for (let m = low.minor + 1; m <= t.minor; m++) {
      const last = m === t.minor;
      hops.push({
        index: hops.length,
        from: hops.length === 0 ? formatVersion(low) : `v${t.major}.${m - 1}`,
        minor: `${t.major}.${m}`,
        ...(last ? patchOf(t) : {}),
      });
    }
  }
  const max = options.maxHops ?? 10;
  if (hops.length > max) {
    throw new HopError(
      `${hops.length} hops from ${formatVersion(low)} to ${formatVersion(t)}; at most ${max} allowed`,
      'TooManyHops',
    );
  }
  if (options.availableMinors) {
    const known = new Set(options.availableMinors.map((m) => minorOf(m)));
    for (const h of hops) {
      if (!known.has(h.minor)) {
        throw new HopError(
          `minor ${h.minor} is not available in the package repository; kupgrade never skips a minor`,
          'MissingMinor',
        );
      }
    }
  }
  return hops;
}

function patchOf(v: KubeVersion): { patch?: number } {
  return v.patch === undefined ? {} : { patch: v.patch };
}

/**
 * The worker window for `maxUnavailable` (a count or `"25%"`) over `workers` workers: at least 1,
 * at most the number of workers (percentages round down, like Kubernetes' maxUnavailable).
 */
export function windowSize(maxUnavailable: number | string, workers: number): number {
  let n: number;
  if (typeof maxUnavailable === 'number') n = Math.floor(maxUnavailable);
  else {
    const m = /^(\d{1,3})%$/.exec(maxUnavailable.trim());
    if (m) n = Math.floor((Number(m[1]) * workers) / 100);
    else if (/^\d+$/.test(maxUnavailable.trim())) n = Number(maxUnavailable.trim());
    else throw new Error(`maxUnavailable "${maxUnavailable}" is neither a count nor a percentage`);
  }
  return Math.max(1, Math.min(n, Math.max(1, workers)));
}
