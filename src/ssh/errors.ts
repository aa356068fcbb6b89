/**
 * SSH errors. `retryable` tells the activity layer whether Temporal should retry: transport problems
 * usually pass, a wrong host key or a sudo password prompt never does. Messages never contain key
 * material or passphrases, only paths, hosts and fingerprints.
 */

export class SshError extends Error {
  readonly retryable: boolean;
  constructor(message: string, retryable: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SshError';
    this.retryable = retryable;
  }
}

/** Connection refused, timed out, handshake failed, connection lost (mid-command too). */
export class SshTransportError extends SshError {
  readonly host: string;
  readonly code?: string;
  /** True when the connection dropped while a command ran: it may or may not have completed. */
  readonly exitCodeUnknown: boolean;
  constructor(
    message: string,
    opts: { host: string; code?: string; exitCodeUnknown?: boolean; cause?: unknown },
  ) {
    super(message, true, { cause: opts.cause });
    this.name = 'SshTransportError';
    this.host = opts.host;
    this.code = opts.code;
    this.exitCodeUnknown = opts.exitCodeUnknown ?? false;
  }
}

/** The per-command timeout expired: the channel was signalled and closed. */
export class SshTimeoutError extends SshTransportError {
  readonly timeoutMs: number;
  readonly stdoutTail: string;
  readonly stderrTail: string;
  constructor(
    message: string,
    opts: { host: string; timeoutMs: number; stdoutTail: string; stderrTail: string },
  ) {
    super(message, { host: opts.host, code: 'ETIMEDOUT', exitCodeUnknown: true });
    this.name = 'SshTimeoutError';
    this.timeoutMs = opts.timeoutMs;
    this.stdoutTail = opts.stdoutTail;
    this.stderrTail = opts.stderrTail;
  }
}

export type HostKeyProblem = 'unknown' | 'changed' | 'revoked' | 'pinned-mismatch';

/** The server's host key is not the one we trust: never retried, never bypassed. */
export class HostKeyMismatchError extends SshError {
  readonly host: string;
  readonly port: number;
  readonly problem: HostKeyProblem;
  /** `SHA256:...` of the key the server presented. */
  readonly presentedFingerprint: string;
  readonly keyType: string;
  /** Fingerprints we expected (known_hosts entries or the pinned one); empty when unknown. */
  readonly expectedFingerprints: string[];
  constructor(
    message: string,
    opts: {
      host: string;
      port: number;
      problem: HostKeyProblem;
      presentedFingerprint: string;
      keyType: string;
      expectedFingerprints: string[];
    },
  ) {
    super(message, false);
    this.name = 'HostKeyMismatchError';
    this.host = opts.host;
    this.port = opts.port;
    this.problem = opts.problem;
    this.presentedFingerprint = opts.presentedFingerprint;
    this.keyType = opts.keyType;
    this.expectedFingerprints = opts.expectedFingerprints;
  }
}

/** `sudo -n` refused because the user needs a password: fix sudoers (NOPASSWD) or log in as root. */
export class SudoPasswordRequiredError extends SshError {
  readonly host: string;
  readonly user: string;
  constructor(host: string, user: string) {
    super(
      `sudo on ${host} needs a password for user ${user}; kupgrade runs sudo -n (never prompts). ` +
        `Fix: allow ${user} NOPASSWD in sudoers, or use ssh.user: root with ssh.sudo: false`,
      false,
    );
    this.name = 'SudoPasswordRequiredError';
    this.host = host;
    this.user = user;
  }
}

/** The server refused our key: a configuration problem that retrying will not fix. */
export class SshAuthenticationError extends SshError {
  readonly host: string;
  constructor(host: string, user: string) {
    super(
      `SSH authentication failed for ${user}@${host}. Fix: add the public key of ssh.privateKeyPath to ~${user}/.ssh/authorized_keys on the node`,
      false,
    );
    this.name = 'SshAuthenticationError';
    this.host = host;
  }
}

/** The private key file is missing, unreadable, unparsable or readable by group/others. */
export class SshKeyFileError extends SshError {
  readonly path: string;
  constructor(message: string, path: string) {
    super(message, false);
    this.name = 'SshKeyFileError';
    this.path = path;
  }
}

/** The error a cancelled wait or command rejects with: the signal's reason, or an AbortError. */
export function abortReason(signal?: AbortSignal): Error {
  const r: unknown = signal?.reason;
  if (r instanceof Error) return r;
  const e = new Error(typeof r === 'string' ? r : 'the command was aborted');
  e.name = 'AbortError';
  return e;
}
