/**
 * Backup on the first control plane before the first change: an etcd snapshot (kubeadm's PKI
 * paths) and a copy of /etc/kubernetes, in `<backupRoot>/<label>/`.
 *
 * Check-first: `<folder>/.complete` exists (written last, in the same command) → nothing run, the
 * same paths are returned. The label comes from the workflow, so a retry lands in the same folder.
 */
import { cmd, sh, type ShellCommand } from '../ssh/command';
import type { BackupResult, NodeInput } from '../shared/activities';
import { ErrorTypes, failure, lastLine, looksTransient, outputOf } from './failure';
import type { Runner } from './runner';
import { logger } from './runtime';
import { targetOf } from './script';
import { ETCD_MANIFEST, etcdSnapshotCommand } from './etcdctl';

const DEFAULT_BACKUP_ROOT = '/var/lib/kupgrade/backups';
const PKI = '/etc/kubernetes/pki/etcd';

/** A label safe as one path component. */
function safeLabel(label: string): string {
  const s = label.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[.-]+/, '');
  return s.slice(0, 100) || 'backup';
}

/**
 * The backup script. etcd: etcdSnapshotCommand (the host's etcdctl when there is one, on PATH or
 * in the usual places outside sudo's secure_path, else etcdctl in the distroless etcd static pod
 * writing under the etcd data directory it mounts, then moved on the host), skipped for external
 * etcd (no etcd manifest). Then `cp -a /etc/kubernetes`, then the completion marker.
 */
export function backupCommand(dir: string, node: string, etcd: boolean, at: string): ShellCommand {
  const snapshot = `${dir}/etcd-snapshot.db`;
  const copy = `${dir}/etc-kubernetes`;
  const parts: ShellCommand[] = [cmd('mkdir', '-p', dir)];
  if (etcd) {
    parts.push(
      sh`if [ -f ${ETCD_MANIFEST} ]; then ${etcdSnapshotCommand(node, snapshot)}; else echo 'external etcd: no local snapshot'; fi`,
    );
  }
  parts.push(sh`${cmd('rm', '-rf', copy)} && ${cmd('cp', '-a', '/etc/kubernetes', copy)}`);
  parts.push(sh`printf '%s\\n' ${at} > ${`${dir}/.complete`}`);
  return parts.reduce((a, b) => sh`${a} && ${b}`);
}

export function createBackupActivities(run: Runner, backupRoot = DEFAULT_BACKUP_ROOT) {
  async function backupControlPlane(input: NodeInput & { label: string }): Promise<BackupResult> {
    const { cluster, node } = input;
    const step = 'backup';
    const dir = `${backupRoot}/${safeLabel(input.label)}`;
    const etcd = cluster.inventory.kubeadm.etcdBackup;
    const target = targetOf(cluster.inventory, node);
    const result = (at: string, withSnapshot: boolean): BackupResult => ({
      node: node.name,
      ...(withSnapshot ? { etcdSnapshot: `${dir}/etcd-snapshot.db` } : {}),
      kubernetesCopy: `${dir}/etc-kubernetes`,
      at,
    });
    const marker = `${dir}/.complete`;
    const check = await run.exec(
      target,
      sh`if [ -f ${marker} ]; then cat ${marker}; if [ -f ${`${dir}/etcd-snapshot.db`} ]; then echo snapshot; fi; fi`,
      { step },
    );
    const lines = check.stdout.split('\n').map((l) => l.trim());
    if (check.exitCode === 0 && lines[0]) {
      return result(lines[0], lines.includes('snapshot'));
    }
    const at = run.now().toISOString();
    const command = backupCommand(dir, node.name, etcd, at);
    logger().info('backing up the control plane', { node: node.name, dir, etcd });
    const r = await run.exec(target, command, { step, progress: true, timeoutMs: 20 * 60_000 });
    if (r.exitCode !== 0) {
      const out = outputOf(r);
      const transient = looksTransient(out);
      throw failure({
        type: transient ? ErrorTypes.Transient : ErrorTypes.CommandFailed,
        message: `backup to ${dir} failed (exit ${r.exitCode}): ${lastLine(out)}`,
        node: node.name,
        step,
        result: r,
        command,
        nonRetryable: !transient,
        hints: [
          `etcdctl uses ${PKI}/ca.crt and healthcheck-client.crt/key; check them and the free space under ${backupRoot}.`,
        ],
      });
    }
    const external = /external etcd: no local snapshot/.test(r.stdout);
    return result(at, etcd && !external);
  }
  return { backupControlPlane };
}
