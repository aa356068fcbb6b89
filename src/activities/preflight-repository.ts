/**
 * Preflight's `repository` check: the package repository each node is configured with, against
 * the one the hops resolve from.
 */
import type { PreflightCheck, ResolvedHop } from '../shared/activities';
import type { Inventory } from '../shared/inventory';
import { parseVersion } from '../shared/versions';
import { configuredUrl, isInsecureUrl, isLegacyRepoUrl, repoKeyUrl, repoUrlFor } from './repo';

function someNodes(nodes: string[]): string {
  return `${nodes.length === 1 ? 'node' : `${nodes.length} nodes:`} ${nodes.slice(0, 5).join(', ')}${nodes.length > 5 ? ', …' : ''}`;
}

/**
 * The `repository` check: a legacy repository (frozen since
 * 2023-09-13) is reported with what the repo step will do about it; a plain http:// repository that
 * kupgrade would keep using (unmanaged) is refused unless packages.allowInsecureRepo is true.
 */
export function repositoryChecks(
  inventory: Inventory,
  hops: ResolvedHop[],
  repos: { node: string; content: string | null }[],
): PreflightCheck[] {
  const manager = inventory.packages.manager;
  const hop = hops[0];
  const url = hop ? repoUrlFor(inventory, hop.minor) : undefined;
  const allowHttp = inventory.packages.allowInsecureRepo === true;
  const byUrl = new Map<string, string[]>();
  let plain = 0;
  for (const r of repos) {
    const u = r.content ? configuredUrl(manager, r.content) : undefined;
    if (u && (isLegacyRepoUrl(u) || isInsecureUrl(u))) byUrl.set(u, [...(byUrl.get(u) ?? []), r.node]);
    else plain++;
  }
  const out: PreflightCheck[] = [];
  const newest = hops.length ? parseVersion(hops[hops.length - 1].version) : undefined;
  for (const [u, nodes] of byUrl) {
    const legacy = isLegacyRepoUrl(u);
    const what = legacy
      ? `legacy repository ${u} on ${someNodes(nodes)} (no /vX.Y/, frozen since 2023-09-13: nothing newer than 1.28.2, -0/-00 releases)`
      : `plain http:// repository ${u} on ${someNodes(nodes)}`;
    if (url && hop) {
      out.push({
        name: 'repository',
        status: 'warn',
        message: `${what}; ${hop.version} is resolved from ${url}, and the repo step migrates the file to it (gpgcheck=1, key ${repoKeyUrl(manager, url)})`,
      });
    } else if (isInsecureUrl(u) && !allowHttp) {
      out.push({
        name: 'repository',
        status: 'fail',
        message: `${what} is kept (repository mode unmanaged) and would install packages without TLS; use an https:// repository or set packages.allowInsecureRepo: true to accept it knowingly`,
      });
    } else {
      const stuck = legacy && newest !== undefined && newest.minor > 28;
      out.push({
        name: 'repository',
        status: stuck ? 'fail' : 'warn',
        message: `${what} is kept (repository mode unmanaged)${stuck ? ` and cannot serve ${hops[hops.length - 1].version}` : ''}; set packages.repository.mode: pkgs.k8s.io (or mirror) and kupgrade migrates it`,
      });
    }
  }
  if (out.length === 0 && plain > 0)
    out.push({
      name: 'repository',
      status: 'pass',
      message: `ok on ${plain} ${plain === 1 ? 'check' : 'checks'}`,
    });
  return out;
}
