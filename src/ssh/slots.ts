/**
 * The pool's connection table: one connection per key (`user@host:port`), reused by every command;
 * a global cap on open connections with a FIFO queue of waiters; at most `maxChannelsPerConnection`
 * exec channels per connection, the rest wait; and idle close (at the idle timeout, or at once when
 * someone waits for a slot).
 */
import type { Conn } from './connection';
import { abortReason, SshTransportError } from './errors';

/** Someone waiting in a queue: called with nothing to go on, or with the error to fail with. */
export type Waiter = (err?: Error) => void;

/** Waits in `queue` until called; an abort leaves the queue and rejects with the signal's reason. */
function waitInQueue(queue: Waiter[], signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const w: Waiter = (err) => {
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve();
    };
    const onAbort = () => {
      const i = queue.indexOf(w);
      if (i >= 0) queue.splice(i, 1);
      reject(abortReason(signal));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    queue.push(w);
  });
}

export interface SlotLimits {
  maxConnections: number;
  maxChannelsPerConnection: number;
  idleTimeoutMs: number;
}

export class ConnectionSlots {
  private readonly conns = new Map<string, Conn>();
  private readonly slotWaiters: Waiter[] = [];
  private open = 0;

  constructor(private readonly limits: SlotLimits) {}

  /** The live connection under `key`, if any (it may still be in its handshake). */
  get(key: string): Conn | undefined {
    const c = this.conns.get(key);
    return c && !c.closed ? c : undefined;
  }

  add(c: Conn): void {
    this.conns.set(c.key, c);
  }

  /** Drops a closed connection from the table (unless a newer one took its key). */
  forget(c: Conn): void {
    if (this.conns.get(c.key) === c) this.conns.delete(c.key);
  }

  /** Waits for a global connection slot; closes an idle connection first if that frees one. */
  async acquireSlot(signal?: AbortSignal): Promise<void> {
    if (this.open < this.limits.maxConnections) {
      this.open++;
      return;
    }
    for (const c of this.conns.values()) {
      if (c.active === 0 && c.isReady && !c.closed) {
        this.close(c);
        break;
      }
    }
    if (this.open < this.limits.maxConnections) {
      this.open++;
      return;
    }
    await waitInQueue(this.slotWaiters, signal);
  }

  releaseSlot(): void {
    const next = this.slotWaiters.shift();
    // Hand the slot over directly so the count never dips below what is really open.
    if (next) next();
    else this.open--;
  }

  /** Waits for a free exec channel on `c`; fails when `c` closes meanwhile. */
  async acquireChannel(c: Conn, signal?: AbortSignal): Promise<void> {
    while (c.active >= this.limits.maxChannelsPerConnection && !c.closed) {
      await waitInQueue(c.channelWaiters, signal);
    }
    if (c.closed) {
      throw new SshTransportError(`connection to ${c.ep.host}:${c.ep.port} closed`, {
        host: c.ep.host,
        code: 'ECONNRESET',
      });
    }
    this.hold(c);
  }

  releaseChannel(c: Conn): void {
    c.active--;
    const next = c.channelWaiters.shift();
    if (next) next();
    // Someone waits for a connection slot: give up this idle one now rather than at the idle timeout.
    else if (c.active === 0 && this.slotWaiters.length > 0) this.close(c);
    else this.scheduleIdle(c);
  }

  /** One more user of `c` (a channel, or a tunnel through a jump host): it must not idle out. */
  hold(c: Conn): void {
    c.active++;
    if (c.idleTimer) clearTimeout(c.idleTimer);
  }

  /** The tunnel through a jump connection ended: it may idle out again. */
  unhold(c: Conn): void {
    c.active--;
    this.scheduleIdle(c);
  }

  close(c: Conn): void {
    if (c.closed) return;
    c.closed = true;
    if (c.idleTimer) clearTimeout(c.idleTimer);
    this.forget(c);
    c.client.end();
  }

  /** Rejects every slot waiter and closes every connection (waits up to 1 s for each to close). */
  async closeAll(): Promise<void> {
    for (const w of this.slotWaiters.splice(0))
      w(new SshTransportError('the SSH pool is closed', { host: '' }));
    await Promise.all(
      [...this.conns.values()].map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.closed) return resolve();
            c.client.once('close', () => resolve());
            this.close(c);
            setTimeout(resolve, 1000).unref();
          }),
      ),
    );
  }

  stats(): { connections: number; queued: number; channels: number } {
    let channels = 0;
    for (const c of this.conns.values()) channels += c.active;
    return { connections: this.open, queued: this.slotWaiters.length, channels };
  }

  private scheduleIdle(c: Conn): void {
    if (c.active > 0 || c.closed) return;
    if (c.idleTimer) clearTimeout(c.idleTimer);
    c.idleTimer = setTimeout(() => {
      if (c.active === 0) this.close(c);
    }, this.limits.idleTimeoutMs);
    c.idleTimer.unref();
  }
}
