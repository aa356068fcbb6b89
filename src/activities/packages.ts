/**
 * Package activities: the repository switch per minor, the kubeadm package, the kubelet and
 * kubectl packages, over the package managers of src/packages.
 *
 * Check-first rules:
 * - ensureRepoMinor: unmanaged → nothing; the repo file already points at the hop's URL → nothing.
 * - ensureKubeadmPackage: `kubeadm version -o short` already prints the hop version → nothing.
 * - ensureKubeletPackages: the installed kubelet and kubectl (rpm/dpkg database, else the
 *   installed rows of the listing) already are the hop's package versions → nothing; otherwise the
 *   node must be cordoned (invariant 3) before anything is installed.
 */
import { cmd, sh, type ShellCommand } from '../ssh/command';
import { stepId } from '../ssh/detached';
import type { NodeHopInput, StepResult } from '../shared/activities';
import { withV } from '../shared/versions';
import { PACKAGE_MANAGERS, type K8sPackage } from '../packages';
import { nextIs, takeRead, type GroupContext } from './group-context';
import { readNode } from './kubectl';
import { RESTART_CHECK, restartCommand } from './kubelet';
import { kubeadmStepFrom, kubeadmStepSections, UPGRADE_NODE_READ } from './kubeadm-settings';
import { upgradeNodeCommand } from './kubeadm';
import { markerKey, markerSays, readMarker, withMarker } from './markers';
import {
  configuredUrl,
  locateRepoCommand,
  parseLocatedRepo,
  repoUrlFor,
  urlMatches,
  writeFileCommand,
  type Manager,
} from './repo';
import { ErrorTypes, failure, lastLine, looksTransient, outputOf, tail } from './failure';
import type { Runner } from './runner';
import { logger } from './runtime';
import { batch, beforeSections, parseBatch, targetOf, type Section, type SectionResult } from './script';
import { ensureRepoKey } from './repo-key';
import { runPackageInstall } from './package-install';
import type { RunResult, SshTarget } from '../ssh/types';

const KUBEADM_VERSION = cmd('kubeadm', 'version', '-o', 'short');
const EOF_MARK = '@@kupgrade-eof@@';

const INSTALL_TIMEOUT_MS = 20 * 60_000;

/**
 * After a kubeadm install, in its transaction: `kubeadm version -o short` (stdout only, as run
 * alone) as a section, then upgrade-node's command as a section when it said `want`. Exits 0
 * whatever they say: the transaction's exit code is the install's.
 */
function thenUpgradeNode(want: string, upgradeNode: ShellCommand): ShellCommand {
  const version = batch([
    {
      name: 'kubeadm-version',
      command: sh`v=$(${KUBEADM_VERSION} 2>/dev/null); s=$?; printf '%s\\n' "$v"; [ "$s" = 0 ]`,
    },
  ]);
  const run = batch([{ name: 'upgrade-node', command: upgradeNode }]);
  return sh`${version}; if [ "$v" = ${want} ]; then ${run}; fi`;
}

/** Throws the right failure for a package command that exited non-zero. */
export function packageFailure(
  manager: Manager,
  node: string,
  step: string,
  r: RunResult,
  command: string,
  what: string,
): never {
  const out = outputOf(r);
  const m = PACKAGE_MANAGERS[manager];
  if (m.versionMissing.test(out)) {
    throw failure({
      type: ErrorTypes.VersionNotFound,
      message: `${what}: the version is not in the repository (${lastLine(out)})`,
      node,
      step,
      result: r,
      command,
      nonRetryable: true,
      hints: [
        'Check that the repository serves this minor (packages.repository) and that the version exists.',
      ],
    });
  }
  if (m.heldBlocks?.pattern.test(out)) {
    throw failure({
      type: ErrorTypes.PackageFailed,
      message: `${what}: a held package blocks the install (${lastLine(out)})`,
      node,
      step,
      result: r,
      command,
      nonRetryable: true,
      hints: [m.heldBlocks.hint],
    });
  }
  const transient = looksTransient(out);
  throw failure({
    // An unexplained failure is retried (bounded by the workflow's retry policy): the step re-checks first.
    type: transient ? ErrorTypes.Transient : ErrorTypes.UnexpectedExit,
    message: `${what} failed (exit ${r.exitCode}): ${lastLine(out)}`,
    node,
    step,
    result: r,
    command,
    nonRetryable: false,
    hints: [
      'Check the package repository (mirror reachable, the version listed) and the package manager lock.',
    ],
  });
}

/** Installed versions from the package database (undefined when unknown) and the kubelet-packages marker. */
export async function installedVersions(
  run: Runner,
  target: SshTarget,
  manager: Manager,
  step: string,
  also: readonly Section[] = [],
): Promise<{
  versions: Partial<Record<K8sPackage, string>>;
  marker: string;
  /** every section's result, `also` among them */
  sections: Map<string, SectionResult>;
}> {
  const pm = PACKAGE_MANAGERS[manager];
  const fallback = pm.installedFallback();
  const sections = [
    { name: 'db', command: pm.installedQueryCommand() },
    { name: 'marker', command: readMarker('kubelet-packages') },
    fallback,
    ...also,
  ];
  const r = await run.exec(target, batch(sections), { step });
  const parsed = parseBatch(r.stdout);
  const out: Partial<Record<K8sPackage, string>> = {};
  const db = parsed.get('db');
  // dpkg: a package unpacked but not configured (`iU`, an install killed mid-way) is not installed
  const unfinished = new Set<string>();
  if (db) {
    for (const line of db.output.split('\n')) {
      const m = /^(kubeadm|kubelet|kubectl) (?:\d+:)?(\d+\.\d+\.\d+-\S+)(?: ([a-zA-Z]{2}\S?))?$/.exec(
        line.trim(),
      );
      // `${db:Status-Abbrev}`: desired action (i, h for hold, ...), status (i = installed), error flag
      if (m && m[3] !== undefined && (m[3][1] !== 'i' || m[3].length > 2)) unfinished.add(m[1]);
      else if (m) out[m[1] as K8sPackage] = m[2];
    }
  }
  // the manager's own view (yum/zypper listing, apt-cache policy) where the database shows nothing
  const extra = parsed.get(fallback.name);
  if (extra) {
    const seen = pm.parseInstalledFallback(extra.output, unfinished);
    for (const [name, full] of Object.entries(seen) as [K8sPackage, string][])
      if (out[name] === undefined) out[name] = full;
  }
  const marker = parsed.get('marker');
  return { versions: out, marker: marker?.exitCode === 0 ? marker.output.trim() : '', sections: parsed };
}

export function createPackageActivities(run: Runner) {
  async function ensureRepoMinor(input: NodeHopInput, ctx?: GroupContext): Promise<StepResult> {
    const { cluster, node, hop } = input;
    const step = 'repo';
    const manager = cluster.inventory.packages.manager;
    const url = repoUrlFor(cluster.inventory, hop.minor);
    if (!url) return { changed: false, detail: 'repository unmanaged' };
    const target = targetOf(cluster.inventory, node);
    const m = PACKAGE_MANAGERS[manager];
    const cur = await readRepo(input, target, manager, ctx, step);
    if (cur.exitCode !== 0) {
      throw failure({
        type: looksTransient(outputOf(cur)) ? ErrorTypes.Transient : ErrorTypes.UnexpectedExit,
        message: `cannot read the kubernetes repository configuration: ${lastLine(outputOf(cur))}`,
        node: node.name,
        step,
        result: cur,
        nonRetryable: false,
      });
    }
    const { path: file, content: current } = parseLocatedRepo(manager, cur.stdout);
    if (current !== null && urlMatches(configuredUrl(manager, current), url)) {
      return { changed: false, detail: `${file} already points at ${url}` };
    }
    const others = current === null ? [] : m.otherRepositories(current);
    if (others.length > 0) {
      throw failure({
        type: ErrorTypes.PackageFailed,
        message: `${file} also defines ${others.join(', ')}; kupgrade rewrites only a file of its own`,
        node: node.name,
        step,
        nonRetryable: true,
        hints: [
          `Move the kubernetes repository to ${m.repoFile} (alone), or use packages.repository.mode: unmanaged.`,
        ],
      });
    }
    // the repository's key first (apt: into the signed-by keyring; a pinned fingerprint is checked)
    const key = await ensureRepoKey(run, cluster.inventory, target, node.name, url, current, step);
    const content = m.repoFileFor(url, current, key);
    const command = sh`${writeFileCommand(file, content)} && ${m.refreshCommand()}`;
    logger().info('switching package repository', { node: node.name, minor: hop.minor, url });
    const r = await run.transaction(target, stepId(step, hop.minor), command, {
      step,
      timeoutMs: INSTALL_TIMEOUT_MS,
    });
    if (r.exitCode !== 0) {
      // The file is written before the refresh: a retry sees the URL and skips; the install refreshes again.
      packageFailure(manager, node.name, step, r, command, `repository switch to ${hop.minor}`);
    }
    return {
      changed: true,
      detail: `${file} → ${url}${key.detail ? ` (${key.detail})` : ''}`,
      outputTail: tail(outputOf(r)),
    };
  }

  async function ensureKubeadmPackage(input: NodeHopInput, ctx?: GroupContext): Promise<StepResult> {
    const { cluster, node, hop } = input;
    const step = 'kubeadm-package';
    const manager = cluster.inventory.packages.manager;
    const want = withV(hop.version);
    const target = targetOf(cluster.inventory, node);
    // in a group, read in the repo step's session just before
    const v = takeRead(ctx, 'kubeadmVersion') ?? (await run.exec(target, KUBEADM_VERSION, { step }));
    const have = v.exitCode === 0 ? v.stdout.trim() : '';
    if (have && /^v?\d+\.\d+\.\d+$/.test(have) && withV(have) === want) {
      return { changed: false, detail: `kubeadm already ${want}`, version: want };
    }
    const pkgs = [{ name: 'kubeadm' as const, full: hop.packages.kubeadm }];
    logger().info('installing kubeadm', { node: node.name, from: have, to: hop.packages.kubeadm });
    const what = `kubeadm ${hop.packages.kubeadm} install`;
    // In a group, upgrade-node runs in the install's transaction when its check (read in the repo
    // step's session) says it is to run: after the install, once the new kubeadm says the hop's
    // version (the verification below reads what it said).
    const check = nextIs(ctx, 'upgrade-node') ? ctx.upgradeNodeCheck : undefined;
    const state = check ? kubeadmStepFrom(input, want, check) : undefined;
    const then = state && !state.done ? upgradeNodeCommand(input, state.settings) : undefined;
    const install = (opts: readonly string[]) => PACKAGE_MANAGERS[manager].stepInstallCommand(pkgs, opts);
    const {
      result: r,
      command,
      notes,
    } = await runPackageInstall(run, {
      target,
      manager,
      step,
      what,
      packages: ['kubeadm'],
      id: stepId(step, hop.packages.kubeadm),
      build: (opts) =>
        then ? sh`${install(opts)} && { echo; ${thenUpgradeNode(want, then)}; }` : install(opts),
    });
    if (r.exitCode !== 0) packageFailure(manager, node.name, step, r, command, what);
    const got = then ? parseBatch(r.stdout) : undefined;
    const said = got?.get('kubeadm-version');
    const ran = got?.get('upgrade-node');
    if (ctx && ran) ctx.upgradeNodeRun = ran;
    const after = said
      ? { exitCode: said.exitCode, stdout: said.output, said: lastLine(said.output) }
      : await installedKubeadm(target, input, ctx, step);
    const now = after.stdout.trim();
    if (after.exitCode !== 0 || !/^v?\d+\.\d+\.\d+$/.test(now) || withV(now) !== want) {
      throw failure({
        type: ErrorTypes.PackageFailed,
        message: `kubeadm reports ${now || after.said} after installing ${hop.packages.kubeadm}, expected ${want}`,
        node: node.name,
        step,
        result: r,
        command,
        nonRetryable: true,
      });
    }
    return {
      changed: true,
      detail: [`kubeadm ${hop.packages.kubeadm} installed`, ...notes].join('; '),
      version: want,
      outputTail: tail(outputOf({ stdout: beforeSections(r.stdout), stderr: r.stderr })),
    };
  }

  async function ensureKubeletPackages(input: NodeHopInput, ctx?: GroupContext): Promise<StepResult> {
    const { cluster, node, hop } = input;
    const step = 'kubelet-packages';
    const manager = cluster.inventory.packages.manager;
    const target = targetOf(cluster.inventory, node);
    const restartNext = nextIs(ctx, 'kubelet-restart');
    // In a group the Node is read in parallel with the package check, on the API node: this step
    // needs it to install, the restart after it to decide when nothing is installed.
    const [{ versions: installed, marker, sections }, read] = await Promise.all([
      installedVersions(run, target, manager, step, restartNext ? RESTART_CHECK : []),
      ctx && !ctx.node ? readNode(run, cluster, node.name, step) : undefined,
    ]);
    if (ctx && read) ctx.node = read;
    if (restartNext) ctx.restartCheck = sections;
    const wanted: { name: K8sPackage; full: string }[] = [
      { name: 'kubelet', full: hop.packages.kubelet },
      { name: 'kubectl', full: hop.packages.kubectl },
    ];
    const missing = wanted.filter((p) => installed[p.name] !== p.full);
    // Real state first: an installed version that is not the hop's is never overruled. Only where
    // the package database shows nothing for them (no rpm/dpkg-query for this user, a front end)
    // does this run's marker for this hop say the install was done.
    const key = markerKey(input, hop.packages.kubelet);
    if (
      missing.length > 0 &&
      missing.every((p) => installed[p.name] === undefined) &&
      markerSays(marker, key)
    )
      missing.length = 0;
    if (missing.length === 0) {
      return {
        changed: false,
        detail: `kubelet and kubectl already ${hop.packages.kubelet}`,
        version: withV(hop.version),
      };
    }
    // Invariant 3: a kubelet changes only while its node is cordoned (and drained, by the workflow's order).
    // The install does not change the Node object: the restart after it may use this read.
    const state = ctx?.node ?? (await readNode(run, cluster, node.name, step));
    if (ctx) ctx.node = state;
    if (!state.unschedulable) {
      throw failure({
        type: ErrorTypes.PolicyRefused,
        message: `refusing to upgrade the kubelet: ${node.name} is not cordoned`,
        node: node.name,
        step,
        nonRetryable: true,
        hints: [
          'Drain the node first (the workflow does it before this step); a kubelet is upgraded only on a drained node.',
        ],
      });
    }
    const install = (opts: readonly string[]) => PACKAGE_MANAGERS[manager].stepInstallCommand(wanted, opts);
    logger().info('installing kubelet and kubectl', { node: node.name, version: hop.packages.kubelet });
    const what = `kubelet/kubectl ${hop.packages.kubelet} install`;
    const {
      result: r,
      command,
      notes,
    } = await runPackageInstall(run, {
      target,
      manager,
      step,
      what,
      packages: ['kubelet', 'kubectl'],
      id: stepId(step, hop.packages.kubelet),
      // the restart the new kubelet needs runs in the same transaction: one detached step fewer
      build: (opts) =>
        restartNext
          ? sh`${withMarker(install(opts), 'kubelet-packages', key)} && { echo; ${batch([{ name: 'kubelet-restart', command: restartCommand(input) }])}; }`
          : withMarker(install(opts), 'kubelet-packages', key),
    });
    if (r.exitCode !== 0) packageFailure(manager, node.name, step, r, command, what);
    if (restartNext) {
      const restart = parseBatch(r.stdout).get('kubelet-restart');
      // the Node's version and Ready condition change with the restart; the check before it is old
      delete ctx.node;
      delete ctx.restartCheck;
      if (restart) ctx.restartRun = restart;
    }
    return {
      changed: true,
      detail: [
        `${missing.map((p) => p.name).join(' and ')} ${hop.packages.kubelet} installed`,
        ...notes,
      ].join('; '),
      version: withV(hop.version),
      // the install's own output; the restart's section is the restart step's
      outputTail: tail(outputOf({ stdout: beforeSections(r.stdout), stderr: r.stderr })),
    };
  }

  /**
   * `kubeadm version -o short` after the install. In a group whose next step is upgrade-node, that
   * step's check rides in the same session (its marker and settings; the install changes neither).
   */
  async function installedKubeadm(
    target: SshTarget,
    input: NodeHopInput,
    ctx: GroupContext | undefined,
    step: string,
  ): Promise<{ exitCode: number; stdout: string; said: string }> {
    if (!nextIs(ctx, 'upgrade-node') || ctx.upgradeNodeCheck) {
      const r = await run.exec(target, KUBEADM_VERSION, { step });
      return { exitCode: r.exitCode, stdout: r.stdout, said: lastLine(outputOf(r)) };
    }
    // stdout only, as run alone: a warning on stderr must not read as the version
    const sections = [
      { name: 'kubeadm-version', command: sh`${KUBEADM_VERSION} 2>/dev/null` },
      ...kubeadmStepSections(input, UPGRADE_NODE_READ),
    ];
    const got = parseBatch((await run.exec(target, batch(sections), { step })).stdout);
    ctx.upgradeNodeCheck = got;
    const v = got.get('kubeadm-version');
    return { exitCode: v?.exitCode ?? -1, stdout: v?.output ?? '', said: lastLine(v?.output ?? '') };
  }

  /**
   * The repository file as locateRepoCommand prints it. In a group whose next step is
   * kubeadm-package, that step's `kubeadm version` rides in the same session (stdout only for
   * both, as each run alone; a failed read is run alone again for its whole message), and so does
   * upgrade-node's check when upgrade-node follows (the repository and the kubeadm package change
   * neither its marker nor the settings it reads).
   */
  async function readRepo(
    input: NodeHopInput,
    target: SshTarget,
    manager: Manager,
    ctx: GroupContext | undefined,
    step: string,
  ): Promise<RunResult> {
    const alone = () => run.exec(target, locateRepoCommand(manager), { step });
    if (!nextIs(ctx, 'kubeadm-package')) return alone();
    const upgradeNodeLater = ctx.later[1] === 'upgrade-node';
    const r = await run.exec(
      target,
      batch([
        // a batch section loses its output's last newline: the mark keeps the file's bytes exact
        {
          name: 'repo',
          command: sh`{ ${locateRepoCommand(manager)}; } 2>/dev/null && printf %s ${EOF_MARK}`,
        },
        { name: 'kubeadm-version', command: sh`${KUBEADM_VERSION} 2>/dev/null` },
        // and upgrade-node's check when it comes after the kubeadm package
        ...(upgradeNodeLater ? kubeadmStepSections(input, UPGRADE_NODE_READ) : []),
      ]),
      { step },
    );
    const got = parseBatch(r.stdout);
    const repo = got.get('repo');
    const kubeadm = got.get('kubeadm-version');
    if (kubeadm) ctx.kubeadmVersion = { exitCode: kubeadm.exitCode, stdout: kubeadm.output };
    if (upgradeNodeLater && got.has('marker')) ctx.upgradeNodeCheck = got;
    if (r.exitCode !== 0 || !repo || repo.exitCode !== 0 || !repo.output.endsWith(EOF_MARK)) return alone();
    return { ...r, stdout: repo.output.slice(0, -EOF_MARK.length), stderr: '' };
  }

  return { ensureRepoMinor, ensureKubeadmPackage, ensureKubeletPackages };
}
