/**
 * Runs one of kupgrade's own package installs and handles what package managers really do on
 * nodes that have lived (docs/operations.md "Package managers"), through the hooks of the node's
 * PackageManager (src/packages): `repoOnly`, `interrupted` and `locks`:
 *
 * - dnf/yum cannot download the metadata of a THIRD-PARTY repository (skip_if_unavailable=False,
 *   the default of dnf 4 and yum 3, after `yum clean all` or metadata expiry): the same install
 *   runs once more with `--disablerepo=* --enablerepo=kubernetes`. Nothing on the node changes; the
 *   OS repositories are used whenever they work (a new dependency comes from them), and only
 *   kupgrade's own command skips the dead one. A dead kubernetes repository is not worked around.
 * - apt says `dpkg was interrupted` (an install was killed, very likely kupgrade's own after a lost
 *   SSH session): `dpkg --configure -a` finishes what dpkg had unpacked — it downloads nothing and
 *   picks no version —, the kubernetes packages it set up get their hold back (kupgrade's install
 *   unholds only for the install), then the install runs once more.
 * - the versionlock plugin holds kubeadm/kubelet/kubectl: not lifted. A lock is an operator's
 *   decision that kupgrade does not override; `--disableexcludes=kubernetes` does not lift it (the
 *   plugin's excludes are not the repository's), so the failure names the lock and the commands.
 */
import type { ShellCommand } from '../ssh/command';
import { stepId } from '../ssh/detached';
import type { RunResult, SshTarget } from '../ssh/types';
import { K8S_PACKAGES, PACKAGE_MANAGERS, type PackageManager } from '../packages';
import type { Manager } from './repo';
import { ErrorTypes, failure, lastLine, outputOf, tail } from './failure';
import type { Runner } from './runner';
import { logger } from './runtime';

const INSTALL_TIMEOUT_MS = 20 * 60_000;

export interface InstallRun {
  /** the last attempt's result (exit 0 unless the caller must classify it) */
  result: RunResult;
  /** the command of the last attempt */
  command: ShellCommand;
  /** what was done besides the install, for the step's detail */
  notes: string[];
}

export interface InstallRequest {
  target: SshTarget;
  manager: Manager;
  step: string;
  /** `kubeadm 1.30.4-150500.1.1 install` */
  what: string;
  /** the packages asked for (for the versionlock check) */
  packages: readonly string[];
  /** the install command; yum/dnf options (before the verb) for a retry */
  build: (yumOptions: readonly string[]) => ShellCommand;
  /**
   * The transaction id (src/ssh/detached.ts): the install and its recovery commands run detached
   * on the node, each attempt under its own id, so a kill never cuts rpm/dpkg half way.
   */
  id?: string;
}

export async function runPackageInstall(run: Runner, q: InstallRequest): Promise<InstallRun> {
  const node = q.target.name;
  const exec = (c: ShellCommand, attempt: string) =>
    q.id
      ? run.transaction(q.target, attempt ? stepId(q.id, attempt) : q.id, c, {
          step: q.step,
          timeoutMs: INSTALL_TIMEOUT_MS,
        })
      : run.exec(q.target, c, { step: q.step, progress: true, timeoutMs: INSTALL_TIMEOUT_MS });
  let command = q.build([]);
  let result = await exec(command, '');
  const notes: string[] = [];
  if (result.exitCode === 137 || result.exitCode === 143) {
    // the install itself was killed (OOM killer, an operator's kill): run it once more; a dpkg it
    // left interrupted is then reported by apt and handled below
    logger().warn('the package install was killed; running it again', { node, exitCode: result.exitCode });
    notes.push(`the install was killed (exit ${result.exitCode}): ran it again`);
    result = await exec(command, 'after-kill');
  }
  if (result.exitCode === 0) return { result, command, notes };
  const out = outputOf(result);

  const m = PACKAGE_MANAGERS[q.manager];
  const repoOnly = m.repoOnly;
  if (repoOnly) {
    const dead = repoOnly.unreachable(out);
    if (dead.length > 0 && !dead.includes(repoOnly.repoId)) {
      logger().warn(
        'a third-party repository cannot be reached; installing from the kubernetes repository only',
        {
          node,
          repositories: dead,
        },
      );
      command = q.build(repoOnly.options);
      result = await exec(command, 'repo-only');
      notes.push(`repository ${dead.join(', ')} unreachable: installed with ${repoOnly.options.join(' ')}`);
      const again = outputOf(result);
      // a missing version, a lock or a dead kubernetes repository is classified as usual
      const classified =
        (m.locks?.blocked(again) ?? false) ||
        m.versionMissing.test(again) ||
        repoOnly.unreachable(again).includes(repoOnly.repoId);
      if (result.exitCode !== 0 && !classified) {
        throw failure({
          type: ErrorTypes.PackageFailed,
          message: `${q.what} failed with only the kubernetes repository enabled (${dead.join(', ')} cannot be reached): ${lastLine(outputOf(result))}`,
          node,
          step: q.step,
          result,
          command,
          nonRetryable: true,
          hints: [
            `Repository ${dead.join(', ')} cannot be reached (skip_if_unavailable=False makes every ${q.manager} command fail). Fix its baseurl, or disable it (${repoOnly.disableCommand} ${dead.join(' ')}), or set skip_if_unavailable=True in its .repo file, then retry.`,
            `kupgrade already retried with ${repoOnly.options.join(' ')}; what failed then is in the output (a dependency from an OS repository?).`,
          ],
        });
      }
    }
  }

  const interrupted = m.interrupted;
  if (interrupted?.detect(out)) {
    logger().warn('dpkg was interrupted on this node; running dpkg --configure -a before the install', {
      node,
    });
    const configure = interrupted.finishCommand();
    const c = await exec(configure, 'dpkg-configure');
    if (c.exitCode !== 0) {
      throw failure({
        type: ErrorTypes.PackageFailed,
        message: `dpkg was interrupted and dpkg --configure -a failed (exit ${c.exitCode}): ${lastLine(outputOf(c))}`,
        node,
        step: q.step,
        result: c,
        command: configure,
        nonRetryable: true,
        hints: [
          'Run `dpkg --configure -a` on the node and fix what it reports (`dpkg --audit` lists the packages left half-done), then retry.',
        ],
      });
    }
    const ours = interrupted.setUp(c.stdout).filter((p) => (K8S_PACKAGES as readonly string[]).includes(p));
    notes.push(
      `dpkg was interrupted: ran dpkg --configure -a${ours.length ? ` (set up ${ours.join(', ')})` : ''}`,
    );
    if (ours.length) {
      // kupgrade's apt install unholds only for its duration; a killed one never put the hold back
      const hold = interrupted.restoreCommand(ours);
      const h = await exec(hold, 'hold');
      if (h.exitCode !== 0)
        logger().warn('could not hold the packages dpkg set up', {
          node,
          packages: ours,
          output: tail(outputOf(h), 300),
        });
    }
    command = q.build([]);
    result = await exec(command, 'after-dpkg-configure');
  }

  if (result.exitCode !== 0 && m.locks?.blocked(outputOf(result)))
    await versionlockFailure(run, q, m.locks, result, command);
  return { result, command, notes };
}

/** Throws the versionlock failure when the enabled plugin locks one of the packages asked for. */
async function versionlockFailure(
  run: Runner,
  q: InstallRequest,
  locks: NonNullable<PackageManager['locks']>,
  result: RunResult,
  command: ShellCommand,
): Promise<void> {
  const r = await run.exec(q.target, locks.readCommand(), { step: q.step });
  const ours = locks
    .parse(r.exitCode === 0 ? r.stdout : '')
    .filter((l) => (K8S_PACKAGES as readonly string[]).includes(l.name));
  const held = ours.filter((l) => q.packages.includes(l.name));
  if (held.length === 0) return;
  const tool = q.manager;
  // every locked kubernetes package: the next steps install the others
  const names = K8S_PACKAGES.filter((p) => ours.some((l) => l.name === p));
  throw failure({
    type: ErrorTypes.PackageFailed,
    message: `${q.what}: the versionlock plugin holds ${held.map((l) => l.entry).join(', ')}; --disableexcludes=kubernetes does not lift a plugin's excludes (${lastLine(outputOf(result))})`,
    node: q.target.name,
    step: q.step,
    result,
    command,
    nonRetryable: true,
    hints: [
      `The packages are version-locked on this node (${tool} versionlock list). kupgrade does not override a lock.`,
      `To upgrade: \`${tool} versionlock delete ${names.join(' ')}\`, retry, and lock the new version afterwards with \`${tool} versionlock add ${names.join(' ')}\`.`,
      `Or install once past the lock by hand: \`${tool} --disableplugin=versionlock install ...\`.`,
    ],
    extra: { versionlocks: held.map((l) => l.entry) },
  });
}

/**
 * Preflight: the versionlock plugin holds kubernetes packages on a node → the failure message
 * (nothing installed can pass the lock); 'pass' when nothing is locked; undefined when unknown.
 */
export function versionlockCheck(
  manager: Manager,
  section: { output: string; exitCode: number } | undefined,
): string | 'pass' | undefined {
  const locks = PACKAGE_MANAGERS[manager].locks;
  if (!locks || !section || section.exitCode !== 0) return undefined;
  const ours = locks
    .parse(section.output)
    .filter((l) => (K8S_PACKAGES as readonly string[]).includes(l.name));
  if (ours.length === 0) return 'pass';
  const names = K8S_PACKAGES.filter((p) => ours.some((l) => l.name === p)).join(' ');
  return `the versionlock plugin holds ${ours.map((l) => l.entry).join(', ')}; kupgrade does not lift a lock (--disableexcludes does not either): run \`${manager} versionlock delete ${names}\` first and \`${manager} versionlock add ${names}\` after the upgrade`;
}
