/**
 * Running etcdctl against a kubeadm "stacked" etcd from the control plane's shell.
 *
 * Most kubeadm control planes have no etcdctl on the host: the only copy is in the etcd static
 * pod's image, registry.k8s.io/etcd, which is distroless (gcr.io/distroless/static + /bin/sh and
 * /usr/local/bin/{etcd,etcdctl,…}: no `env`, `mv`, `cp`). So etcdctl is run directly in the pod
 * (`kubectl exec etcd-<node> -- etcdctl …`; API v3 is the default since etcd 3.4), with files it
 * writes under the etcd data directory, which the pod mounts from the host (kubeadm's `etcd-data`
 * hostPath = `--data-dir`), and moved on the host afterwards.
 *
 * A host etcdctl wins when there is one: on PATH, or in the usual places outside sudo's
 * secure_path (RHEL's is /sbin:/bin:/usr/sbin:/usr/bin, without /usr/local/bin; Debian's has it):
 * HOST_ETCDCTL_PATHS.
 */
import { cmd, raw, sh, type ShellCommand } from '../ssh/command';
import { ADMIN_CONF } from './kubectl';

export const ETCD_MANIFEST = '/etc/kubernetes/manifests/etcd.yaml';
const PKI = '/etc/kubernetes/pki/etcd';

/** kubeadm's client certificate for health checks; the etcd pod mounts the same directory. */
export const ETCD_TLS = [
  '--endpoints=https://127.0.0.1:2379',
  `--cacert=${PKI}/ca.crt`,
  `--cert=${PKI}/healthcheck-client.crt`,
  `--key=${PKI}/healthcheck-client.key`,
];

/** Where a hand-installed etcdctl lives when `command -v` (PATH, or sudo's secure_path) misses it. */
const HOST_ETCDCTL_PATHS = [
  '/usr/local/bin/etcdctl',
  '/usr/local/sbin/etcdctl',
  '/usr/bin/etcdctl',
  '/opt/etcd/bin/etcdctl',
  '/opt/etcd/etcdctl',
  '/opt/kube/bin/etcdctl',
  '/opt/bin/etcdctl',
];

/** Shell: `$etcdctl` = the host's etcdctl, or empty. */
function findHostEtcdctl(): ShellCommand {
  return raw(
    `etcdctl=$(command -v etcdctl 2>/dev/null || true); for p in ${HOST_ETCDCTL_PATHS.join(' ')}; do [ -n "$etcdctl" ] && break; if [ -x "$p" ]; then etcdctl=$p; fi; done`,
  );
}

/** Shell: `$etcd_data` = the etcd data directory from the static pod manifest (kubeadm default /var/lib/etcd). */
function etcdDataDir(): ShellCommand {
  return sh`etcd_data=$(sed -n 's/^ *- --data-dir=//p' ${ETCD_MANIFEST} 2>/dev/null | head -n 1); etcd_data=\${etcd_data:-/var/lib/etcd}`;
}

/** etcdctl in the etcd static pod of `node` (distroless: the program itself, no env/shell wrapper). */
function podEtcdctl(node: string, args: (string | ShellCommand)[]): ShellCommand {
  const head = cmd(
    'kubectl',
    `--kubeconfig=${ADMIN_CONF}`,
    '-n',
    'kube-system',
    'exec',
    `etcd-${node}`,
    '--',
    'etcdctl',
  );
  return args.reduce<ShellCommand>((a, b) => sh`${a} ${b}`, head);
}

/** `etcdctl ARGS` with the host's etcdctl when found, else in the etcd pod of `node`. */
export function etcdctlAnywhere(node: string, args: string[]): ShellCommand {
  return sh`${findHostEtcdctl()}; if [ -n "$etcdctl" ]; then ETCDCTL_API=3 "$etcdctl" ${cmd(...args)}; else ${podEtcdctl(node, args)}; fi`;
}

/**
 * Snapshot into `snapshot` (a host path): with the host's etcdctl directly; else in the etcd pod
 * into `<data dir>/kupgrade-snapshot.db` (the pod's mount of the host directory), then moved on the
 * host. A leftover from an interrupted try is removed first.
 */
export function etcdSnapshotCommand(node: string, snapshot: string): ShellCommand {
  const save = ['snapshot', 'save'];
  const hostSave = sh`ETCDCTL_API=3 "$etcdctl" ${cmd(...ETCD_TLS, ...save, snapshot)}`;
  const podFile = raw('"$etcd_data/kupgrade-snapshot.db"');
  const podSave = sh`${etcdDataDir()}; rm -f ${podFile} && ${podEtcdctl(node, [...ETCD_TLS, ...save].map((a) => cmd(a)).concat(podFile))} && mv -f ${podFile} ${snapshot}`;
  return sh`${findHostEtcdctl()}; if [ -n "$etcdctl" ]; then ${hostSave}; else ${podSave}; fi`;
}
