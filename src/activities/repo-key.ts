/**
 * The signing key that goes with a repository switch.
 *
 * - apt: a pkgs.k8s.io minor repository is trusted only with its own `Release.key` in the keyring
 *   its `signed-by` names (`curl -fsSL <url>/Release.key | gpg --dearmor -o <keyring>`, the install
 *   docs). The keyring path of the existing list is kept (default
 *   /etc/apt/keyrings/kubernetes-apt-keyring.gpg); the key is installed before the list names the
 *   new URL, so an `apt-get update` never meets a repository it cannot verify.
 * - yum/dnf/zypper: the .repo file's `gpgkey=<url>/repodata/repomd.xml.key` is imported by yum itself; with
 *   an inline key (air-gapped mirror) it is written to /etc/pki/rpm-gpg and `gpgkey=file://…`.
 * - A pinned `packages.repository.keyFingerprint` is checked on the fetched key before anything is
 *   written (both managers); a mismatch is refused, not retried.
 */
import type { InventorySettings } from '../shared/inventory';
import type { SshTarget } from '../ssh/types';
import { PACKAGE_MANAGERS } from '../packages';
import { KEY_MISMATCH_EXIT, parseFingerprints, repoKeyCommand, writeFileCommand } from './repo';
import { ErrorTypes, failure, lastLine, looksTransient, outputOf } from './failure';
import type { Runner } from './runner';

/** Where an inline key for the rpm managers is written (gpgkey=file://…). */
export const YUM_INLINE_KEY_FILE = '/etc/pki/rpm-gpg/RPM-GPG-KEY-kupgrade-kubernetes';

export interface RepoKeyResult {
  /** yum/dnf: the gpgkey= value to write instead of the URL's repomd.xml.key */
  gpgkey?: string;
  /** apt: the keyring the list's signed-by names */
  keyring?: string;
  fingerprints: string[];
  detail: string;
}

/**
 * Ensures the key of `url` is where the package manager will look for it; read-only (verify only)
 * when `install` is false. Throws a non-retryable PolicyRefused failure on a fingerprint mismatch.
 */
export async function ensureRepoKey(
  run: Runner,
  settings: Pick<InventorySettings, 'packages'>,
  target: SshTarget,
  node: string,
  url: string,
  current: string | null,
  step: string,
  install = true,
): Promise<RepoKeyResult> {
  const manager = settings.packages.manager;
  const pm = PACKAGE_MANAGERS[manager];
  const repo = settings.packages.repository;
  const keyring = pm.keyringOf?.(current);
  // yum/zypper fetch their gpgkey= themselves: nothing to do unless a fingerprint is pinned or a key given inline
  if (!keyring && !repo.keyFingerprint && !repo.key) return { fingerprints: [], detail: '' };
  const command = repoKeyCommand(settings, manager, url, install ? keyring : undefined);
  const r = await run.exec(target, command, { step });
  const fingerprints = parseFingerprints(r.stdout);
  if (r.exitCode === KEY_MISMATCH_EXIT) {
    throw failure({
      type: ErrorTypes.PolicyRefused,
      message: `the signing key of ${url} has fingerprint ${fingerprints.join(', ') || '(none)'}, not the pinned ${repo.keyFingerprint}; nothing was changed`,
      node,
      step,
      result: r,
      nonRetryable: true,
      hints: [
        'Check the mirror serves the genuine key, then update packages.repository.keyFingerprint (gpg --show-keys <Release.key>) if the repository rotated its key.',
      ],
    });
  }
  if (r.exitCode !== 0) {
    const out = outputOf(r);
    throw failure({
      type: looksTransient(out) ? ErrorTypes.Transient : ErrorTypes.PackageFailed,
      message: `cannot fetch the signing key of ${url}: ${lastLine(out)}`,
      node,
      step,
      result: r,
      nonRetryable: false,
      hints: [
        'The node must reach the repository (curl and gpg installed); for an air-gapped mirror put the armored key in packages.repository.key.',
      ],
    });
  }
  let gpgkey: string | undefined;
  if (!keyring && repo.key && install) {
    const w = await run.exec(target, writeFileCommand(YUM_INLINE_KEY_FILE, repo.key), { step });
    if (w.exitCode !== 0) {
      throw failure({
        type: ErrorTypes.UnexpectedExit,
        message: `cannot write ${YUM_INLINE_KEY_FILE}: ${lastLine(outputOf(w))}`,
        node,
        step,
        result: w,
        nonRetryable: false,
      });
    }
    gpgkey = `file://${YUM_INLINE_KEY_FILE}`;
  }
  return {
    gpgkey,
    keyring,
    fingerprints,
    detail: `key ${fingerprints.join(', ')}${keyring && install ? ` in ${keyring}` : ''}`,
  };
}
