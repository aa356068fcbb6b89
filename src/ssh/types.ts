/**
 * SSH executor contract used by the activities (docs/architecture.md). Plain types, no I/O.
 */
import type { ShellCommand } from './command';

export interface SshTarget {
  /** Node name: the key for pinned host-key fingerprints and the name shown in errors. */
  name: string;
  host: string;
  port: number;
  user: string;
  /** Run the command as root through `sudo -n` (never prompts; fails with SudoPasswordRequiredError). */
  sudo: boolean;
}

export interface RunOptions {
  /** Kill the remote command after this long (default: the pool's commandTimeoutMs). */
  timeoutMs?: number;
  /** Aborting closes the channel and rejects with the signal's reason (an activity's cancellation). */
  signal?: AbortSignal;
  /** Per stream (stdout, stderr); the tail is kept and `truncated` set. Default: the pool's value. */
  maxOutputBytes?: number;
  /**
   * Called when output arrives, with the chunk and its stream, so a long-running activity can
   * heartbeat (and read what a command has said so far).
   */
  onProgress?: (chunk: Buffer, stream: 'stdout' | 'stderr') => void;
}

export interface RunResult {
  /** The remote exit status; 128 + signal number when the command was killed by a signal. */
  exitCode: number;
  stdout: string;
  stderr: string;
  truncated: boolean;
  durationMs: number;
}

export interface SshExecutor {
  run(target: SshTarget, command: ShellCommand, opts?: RunOptions): Promise<RunResult>;
  close(): Promise<void>;
}

export type HostKeyPolicy = 'strict' | 'accept-new';

export interface SshJumpHost {
  host: string;
  port: number;
  user: string;
  /** Name used to look up a pinned fingerprint (defaults to the host). */
  name?: string;
}

export interface SshPoolConfig {
  /** The pool reads the key from this path and refuses it when group or others may read it. */
  privateKeyPath: string;
  /** Passphrase for an encrypted key, if any; never logged. */
  passphrase?: string;
  knownHostsPath: string;
  hostKeyPolicy?: HostKeyPolicy;
  /** Pinned host keys, target name (or jump host name/host) → `SHA256:<base64>`; wins over known_hosts. */
  hostKeyFingerprints?: Record<string, string>;
  jumpHost?: SshJumpHost;
  /** TCP connect + SSH handshake limit (default 10 s). */
  connectTimeoutMs?: number;
  /** Default per-command timeout (default 10 min). */
  commandTimeoutMs?: number;
  /** Global cap on open SSH connections; callers beyond it wait in a queue (default 64). */
  maxConnections?: number;
  /** Concurrent exec channels on one connection (sshd's MaxSessions defaults to 10; default 8). */
  maxChannelsPerConnection?: number;
  /** Close a connection after this long without a command (default 60 s). */
  idleTimeoutMs?: number;
  /** Default output cap per stream (default 1 MiB). */
  maxOutputBytes?: number;
  /**
   * Wrap each command so that it is killed when its channel ends (timeout, abort, dropped
   * connection). Default true; false sends the command line exactly as built.
   */
  killOnDisconnect?: boolean;
  /** SSH keepalive interval (default 15 s); a dead peer is detected after 3 misses. */
  keepaliveIntervalMs?: number;
  /** Told what the pool does, e.g. for counting handshakes per node; default: nobody. */
  observe?: (event: SshPoolEvent) => void;
}

/**
 * What the pool reports to `observe`: a handshake done (the connection is open), an open connection
 * closed, a connection that could not be opened, a command started, a command timed out.
 */
export type SshPoolEvent = 'handshake' | 'connection-closed' | 'connection-failed' | 'command' | 'timeout';
