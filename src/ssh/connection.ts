/**
 * One pooled SSH connection: its ssh2 client, the commands running on it, and the handshake that
 * opens it. What the pool keeps around it (reuse, slots, idle close) is in slots.ts.
 */
import { Client, type ConnectConfig } from 'ssh2';
import { abortReason, SshAuthenticationError, SshTransportError } from './errors';
import type { Waiter } from './slots';

export interface Endpoint {
  name: string;
  host: string;
  port: number;
  user: string;
}

export class Conn {
  client = new Client();
  active = 0;
  closed = false;
  ready!: Promise<void>;
  /** Handshake done: only such a connection may be closed to free a slot for someone else. */
  isReady = false;
  readonly channelWaiters: Waiter[] = [];
  /** Called when the connection goes away under running commands. */
  readonly onDrop = new Set<(err: Error) => void>();
  idleTimer?: NodeJS.Timeout;
  /** Released on close: the forwarded stream's hold on the jump connection. */
  releaseJump?: () => void;
  constructor(
    readonly key: string,
    readonly ep: Endpoint,
  ) {}
}

export function transportError(ep: Endpoint, err: unknown, what: string): SshTransportError {
  const e = err as { code?: string; level?: string; message?: string };
  const code =
    e.code ?? (e.level === 'client-timeout' ? 'ETIMEDOUT' : e.level === 'protocol' ? 'EPROTO' : undefined);
  return new SshTransportError(
    `${what} ${ep.user}@${ep.host}:${ep.port} (${ep.name}): ${e.message ?? String(err)}`,
    {
      host: ep.host,
      code,
      cause: err,
    },
  );
}

export interface HandshakeEvents {
  /** The handshake succeeded (the connection now counts as open). */
  ready(): void;
  /** The connection closed, before or after the handshake (`wasReady`); called before `onDrop`. */
  closed(wasReady: boolean): void;
  /** The host-key decision of the last handshake attempt, to report instead of a generic close. */
  hostKeyError(): Error | undefined;
}

/**
 * Connects `c.client` and resolves once it is ready. Before that, an error, a close or an abort
 * rejects (the host-key decision wins over the transport's own message); after it, an error or a
 * close fails the commands running on the connection through `c.onDrop`.
 */
export function handshake(
  c: Conn,
  connectCfg: ConnectConfig,
  signal: AbortSignal | undefined,
  events: HandshakeEvents,
): Promise<void> {
  const ep = c.ep;
  let wasReady = false;
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const settle = (err?: Error) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      if (err) {
        c.client.end();
        reject(err);
      } else resolve();
    };
    const onAbort = () => settle(abortReason(signal));
    signal?.addEventListener('abort', onAbort, { once: true });
    c.client.once('ready', () => {
      if (settled) return;
      wasReady = true;
      c.isReady = true;
      events.ready();
      settle();
    });
    c.client.on('error', (err: Error & { level?: string }) => {
      if (!settled) {
        const hostKeyError = events.hostKeyError();
        if (hostKeyError) settle(hostKeyError);
        else if (err.level === 'client-authentication') settle(new SshAuthenticationError(ep.host, ep.user));
        else settle(transportError(ep, err, 'cannot connect to'));
        return;
      }
      for (const drop of [...c.onDrop]) drop(transportError(ep, err, 'connection lost to'));
    });
    c.client.on('close', () => {
      c.closed = true;
      events.closed(wasReady);
      wasReady = false;
      if (c.idleTimer) clearTimeout(c.idleTimer);
      c.releaseJump?.();
      c.releaseJump = undefined;
      for (const w of c.channelWaiters.splice(0)) w();
      settle(
        events.hostKeyError() ??
          transportError(ep, new Error('connection closed during the handshake'), 'cannot connect to'),
      );
      for (const drop of [...c.onDrop]) {
        drop(
          new SshTransportError(
            `connection to ${ep.user}@${ep.host}:${ep.port} (${ep.name}) closed while a command was running; its exit code is unknown`,
            { host: ep.host, code: 'ECONNRESET', exitCodeUnknown: true },
          ),
        );
      }
    });
    c.client.connect(connectCfg);
    // Every command is a few small packets each way (channel open, exec, exit-status, close):
    // with Nagle on, each exchange waits for the peer's delayed ACK (40 ms on Linux), which
    // made one command over an open connection cost 56 ms instead of 10 ms on loopback.
    // sshd only disables Nagle for sessions with a tty, so the client has to.
    c.client.setNoDelay(true);
  });
}
