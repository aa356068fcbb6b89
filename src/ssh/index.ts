/** SSH module: command building (command.ts), the pooled executor (pool.ts), host-key checks. */
export { and, cmd, isShellCommand, quote, raw, sh, wrapShell, type ShellCommand } from './command';
export type {
  HostKeyPolicy,
  RunOptions,
  RunResult,
  SshExecutor,
  SshJumpHost,
  SshPoolConfig,
  SshTarget,
} from './types';
export {
  HostKeyMismatchError,
  SshAuthenticationError,
  SshError,
  SshKeyFileError,
  SshTimeoutError,
  SshTransportError,
  SudoPasswordRequiredError,
  type HostKeyProblem,
} from './errors';
export { createSshPool, resetSshCounters, sshCounters } from './pool';
export { fingerprintOf, parseKnownHosts, checkKnownHost, hostToken } from './known-hosts';
