// File layout of the lab's SSH layer under DIR/ssh and DIR/nodes. Kept free of imports beyond
// node:path and node:fs so that the node shell (run once per SSH command) loads it at no measurable cost.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The tools the lab provides; the node shell hides the host's copies of all of them. */
export const LAB_TOOLS = [
  'kubeadm',
  'kubectl',
  'yum',
  'dnf',
  'apt-get',
  'apt-cache',
  'apt-mark',
  'systemctl',
  'swapon',
  'etcdctl',
] as const;

/** Directories searched for the host's real copies of LAB_TOOLS (bind-mounted over in a session). */
export const HOST_TOOL_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** sshd serves at most 16 ListenAddress entries per process (MAX_LISTEN_SOCKS). */
export const LISTEN_PER_SSHD = 16;

export function sshDir(dir: string): string {
  return path.join(dir, 'ssh');
}
export function clientKeyPath(dir: string): string {
  return path.join(dir, 'ssh', 'id_ed25519');
}
export function knownHostsPath(dir: string): string {
  return path.join(dir, 'ssh', 'known_hosts');
}
export function hostKeyPath(dir: string): string {
  return path.join(dir, 'ssh', 'ssh_host_ed25519_key');
}
export function authorizedKeysPath(dir: string): string {
  return path.join(dir, 'ssh', 'authorized_keys');
}
/** JSON state of the running sshd processes (groups, pids, nodes marked down). */
export function sshdStatePath(dir: string): string {
  return path.join(dir, 'ssh', 'sshd.json');
}
export function sshdConfigPath(dir: string, group: number): string {
  return path.join(dir, 'ssh', `sshd-${group}.conf`);
}
export function sshdPidPath(dir: string, group: number): string {
  return path.join(dir, 'ssh', `sshd-${group}.pid`);
}
export function sshdLogPath(dir: string, group: number): string {
  return path.join(dir, 'ssh', `sshd-${group}.log`);
}
/** Two files per live session of a node: `<node-shell pid>.json` = SessionRecord, `<pid>.cmd` = its whole command. */
export function sessionsDir(dir: string, node: string): string {
  return path.join(sessionsRoot(dir), node);
}
/** DIR/ssh/sessions: one directory per node that has had a session. */
export function sessionsRoot(dir: string): string {
  return path.join(dir, 'ssh', 'sessions');
}
/** `<pid>.cmd` beside a session's `<pid>.json` record. */
export function sessionCommandPath(recordPath: string): string {
  return recordPath.replace(/\.json$/, '.cmd');
}
/** Exists while a node is down: a node shell that starts anyway refuses to run its command. */
export function downMarkerPath(dir: string, node: string): string {
  return path.join(dir, 'ssh', 'down', node);
}
/** A stand-in bound over host tools that DIR/bin does not provide (fails like a missing command). */
export function missingToolPath(dir: string): string {
  return path.join(dir, 'ssh', 'missing-tool');
}
export function nodeRoot(dir: string, node: string): string {
  return path.join(dir, 'nodes', node);
}

/** pid of the process that holds a node's mount namespace (written by the node shell) */
export function namespacePidPath(dir: string, node: string): string {
  return path.join(dir, 'ssh', 'ns', `${node}.pid`);
}

export interface SessionRecord {
  /** pid of the node shell */
  pid: number;
  /** process group of the node shell and the command it runs */
  pgid: number;
  /** pid of the sshd process that serves the session (KUPGRADE_LAB_SESSION_PID) */
  sessionPid: number;
  /** the command's first 200 characters (`<pid>.cmd` and the event log have it whole) */
  cmd: string;
  started: string;
}

/**
 * The directories of the host that a session sees through a private overlay (writes land in
 * DIR/nodes/NAME/.root/<dir>), so that nothing outside DIR changes on the host. /etc is the
 * node's own: its upper layer is DIR/nodes/NAME/etc. /var/lib/kubelet and /var/lib/etcd are
 * bind mounts of DIR/nodes/NAME/var/lib/{kubelet,etcd}. /usr/local/bin gets links to the lab tools
 * that have no host copy to shadow (kubeadm, yum, …), so that a PATH without DIR/bin (sudo's
 * secure_path, `env -i sh -c`) still finds them.
 */
export const OVERLAID_DIRS = ['/etc', '/var', '/opt', '/root', '/srv', '/home', '/tmp', '/usr/local/bin'];

/**
 * Overlay work dirs: DIR/nodes/NAME/.work/ns<pid>, one set per mount namespace of the node (the
 * node shell makes one namespace per node and sshd start; <pid> is the creating shell's).
 */
export function workBase(dir: string, node: string): string {
  return path.join(dir, 'nodes', node, '.work');
}

/** Removes all work dirs of a node (no session may run): overlayfs leaves <workdir>/work mode 000. */
export function removeWorkBase(base: string): void {
  try {
    for (const set of fs.readdirSync(base)) {
      const sd = path.join(base, set);
      for (const d of fs.readdirSync(sd)) {
        try {
          fs.chmodSync(path.join(sd, d, 'work'), 0o700);
        } catch {
          // not a work dir
        }
      }
    }
    fs.rmSync(base, { recursive: true, force: true });
  } catch {
    // best effort: leftovers under DIR harm nothing
  }
}
