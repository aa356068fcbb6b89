/**
 * Target resolution: the exact patch (and package versions) of every hop's minor, read from the
 * package repository before anything changes.
 *
 * Decision: every hop is resolved at preflight, on the first control plane,
 * WITHOUT switching the node's configured repository:
 * 1. when the configured repository IS the URL the repo step will write (a patch hop), or the
 *    repository is unmanaged, it is read with the plain listing (`yum list --showduplicates kubeadm
 *    kubelet kubectl --disableexcludes=kubernetes`, `apt-cache madison kubeadm kubelet kubectl`);
 * 2. otherwise — another minor, or a legacy all-minors repo (`1.28.2-0`, frozen since 2023-09-13,
 *    which the repo step replaces) — the URL that will be used is read through a
 *    throw-away repo definition outside /etc (`--setopt=reposdir=<tmp> --setopt=cachedir=<tmp>/cache`
 *    for yum/dnf, `-o Dir::Etc::sourcelist=<tmp>` with private lists and cache for apt, where the
 *    repository's Release.key goes into a keyring of the probe's own), removed on exit;
 * 3. only when that isolated listing is not understood (some package-manager front ends and the
 *    lab ignore reposdir / refuse `-o` on apt-cache), a separate probe definition
 *    (`/etc/yum.repos.d/kupgrade-probe.repo` with its own repo id, or
 *    `/etc/apt/sources.list.d/kupgrade-probe.list`) is written, listed and removed in the same
 *    command (apt re-runs `apt-get update` after removing it so the lists match the real sources).
 *    The node's kubernetes repo file is never touched before the operator approves.
 */
import type { ResolvedHop } from '../shared/activities';
import type { ClusterContext } from '../shared/inventory';
import { withV } from '../shared/versions';
import type { RunResult, SshTarget } from '../ssh/types';
import { K8S_PACKAGES, PACKAGE_MANAGERS } from '../packages';
import {
  configuredUrl,
  isLegacyRepoUrl,
  keySourceCommand,
  parseListing,
  pickVersion,
  locateRepoCommand,
  parseLocatedRepo,
  repoUrlFor,
  urlMatches,
  type ListedVersion,
} from './repo';
import { ErrorTypes, failure, lastLine, looksTransient, outputOf } from './failure';
import type { Runner } from './runner';
import { logger } from './runtime';
import { targetOf } from './script';

export interface MinorListing {
  how: 'configured' | 'isolated' | 'probe-file';
  listed: ListedVersion[];
}

/**
 * Lists the versions of `minor` on a node, read-only for its configured repository (see the file
 * comment for the three ways). Throws a retryable failure on transient trouble.
 */
export async function listMinor(
  run: Runner,
  cluster: ClusterContext,
  target: SshTarget,
  minor: string,
  step: string,
  opts: { allowProbeFile?: boolean; configured?: string | null } = {},
): Promise<MinorListing> {
  const manager = cluster.inventory.packages.manager;
  const pm = PACKAGE_MANAGERS[manager];
  const url = repoUrlFor(cluster.inventory, minor);
  let configured = opts.configured;
  if (configured === undefined) {
    const r = await run.exec(target, locateRepoCommand(manager), { step });
    configured = r.exitCode === 0 ? parseLocatedRepo(manager, r.stdout).content : null;
  }
  const confUrl = configured ? configuredUrl(manager, configured) : undefined;
  // A managed repository is listed from the URL the repo step will write: a
  // legacy all-minors repo (`1.28.2-0`, frozen) or any other URL is replaced before an install.
  const servesMinor = !url || urlMatches(confUrl, url);
  const has = (l: ListedVersion[]) => l.some((x) => x.version.startsWith(`${minor}.`));

  if (servesMinor) {
    let r = await run.exec(target, pm.listCommand(K8S_PACKAGES), { step });
    // a dead third-party repository fails every yum/dnf command: list from the kubernetes one only
    const repoOnly = pm.repoOnly;
    const dead = !repoOnly || r.exitCode === 0 ? [] : repoOnly.unreachable(outputOf(r));
    if (repoOnly && dead.length > 0 && !dead.includes(repoOnly.repoId))
      r = await run.exec(target, pm.listCommand(K8S_PACKAGES, repoOnly.options), { step });
    const out = outputOf(r);
    if (r.exitCode !== 0 && looksTransient(out)) throw transient(target.name, step, r, 'package listing');
    return { how: 'configured', listed: parseListing(manager, r.stdout) };
  }
  // apt trusts a repository only with its key: the probe fetches it into a keyring of its own
  const keySource = pm.keyringOf ? keySourceCommand(cluster.inventory, manager, url) : undefined;
  const iso = await run.exec(target, pm.probeCommand(url, K8S_PACKAGES, keySource), {
    step,
    progress: true,
  });
  const isoListed = iso.exitCode === 0 ? parseListing(manager, iso.stdout) : [];
  if (has(isoListed)) return { how: 'isolated', listed: isoListed };
  if (iso.exitCode !== 0 && looksTransient(outputOf(iso)))
    throw transient(target.name, step, iso, 'package listing');
  if (!opts.allowProbeFile) return { how: 'isolated', listed: isoListed };
  logger().info('isolated repository listing not understood; using a probe repo definition', {
    node: target.name,
    minor,
  });
  const pf = await run.exec(target, pm.probeFileCommand(url, keySource), { step, progress: true });
  if (pf.exitCode !== 0 && looksTransient(outputOf(pf)))
    throw transient(target.name, step, pf, 'package listing');
  return { how: 'probe-file', listed: pf.exitCode === 0 ? parseListing(manager, pf.stdout) : [] };
}

function transient(node: string, step: string, r: RunResult, what: string) {
  return failure({
    type: ErrorTypes.Transient,
    message: `${what} failed: ${lastLine(outputOf(r))}`,
    node,
    step,
    result: r,
    nonRetryable: false,
  });
}

export function createTargetActivities(run: Runner) {
  async function resolveTarget(input: {
    cluster: ClusterContext;
    hops: { index: number; from: string; minor: string; patch?: number }[];
  }): Promise<ResolvedHop[]> {
    const { cluster } = input;
    const step = 'resolve';
    const target = targetOf(cluster.inventory, cluster.apiNode);
    const manager = cluster.inventory.packages.manager;
    const conf = await run.exec(target, locateRepoCommand(manager), { step });
    const configured = conf.exitCode === 0 ? parseLocatedRepo(manager, conf.stdout).content : null;
    const out: ResolvedHop[] = [];
    for (const hop of input.hops) {
      const listing = await listMinor(run, cluster, target, hop.minor, step, {
        allowProbeFile: true,
        configured,
      });
      const pick = pickVersion(listing.listed, hop.minor, hop.patch);
      if (!pick) {
        const offered = [
          ...new Set(listing.listed.filter((l) => l.name === 'kubeadm').map((l) => l.version)),
        ];
        const wanted = hop.patch === undefined ? `any ${hop.minor} patch` : `${hop.minor}.${hop.patch}`;
        throw failure({
          type: ErrorTypes.VersionNotFound,
          message: `${wanted} of ${K8S_PACKAGES.join(', ')} is not in the ${manager} repository for ${hop.minor}${
            offered.length ? ` (kubeadm versions listed: ${offered.slice(-8).join(', ')})` : ''
          }`,
          node: cluster.apiNode.name,
          step,
          nonRetryable: true,
          hints: [
            repoUrlFor(cluster.inventory, hop.minor)
              ? `Repository for ${hop.minor}: ${repoUrlFor(cluster.inventory, hop.minor)}`
              : isLegacyRepoUrl(configured ? configuredUrl(manager, configured) : undefined)
                ? `The configured repository ${configured ? configuredUrl(manager, configured) : ''} is a legacy one, frozen on 2023-09-13 (nothing newer than 1.28.2): set packages.repository.mode to pkgs.k8s.io or mirror and kupgrade migrates it (docs/operations.md).`
                : 'The repository is unmanaged: make the configured repository serve this minor first.',
          ],
        });
      }
      logger().info('hop resolved', { minor: hop.minor, version: pick.version, how: listing.how });
      out.push({
        index: hop.index,
        from: hop.from,
        minor: hop.minor,
        version: withV(pick.version),
        packages: pick.packages,
      });
    }
    return out;
  }
  return { resolveTarget };
}
