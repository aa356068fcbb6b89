/**
 * The activity context as every activity file uses it: the current context (or none, when a helper
 * runs outside an activity), logging without secrets, heartbeats and what a retried attempt finds
 * in them, cancellable sleeps, and bounded parallelism.
 */
import { setMaxListeners } from 'node:events';
import { activityInfo, Context } from '@temporalio/activity';

export interface Logger {
  info(message: string, attrs?: Record<string, unknown>): void;
  warn(message: string, attrs?: Record<string, unknown>): void;
  debug(message: string, attrs?: Record<string, unknown>): void;
}

const silentLogger: Logger = { info: () => undefined, warn: () => undefined, debug: () => undefined };

const widened = new WeakSet<AbortSignal>();

/** The current activity context, or undefined when a helper runs outside an activity. */
export function currentContext(): Context | undefined {
  let ctx: Context;
  try {
    ctx = Context.current();
  } catch {
    return undefined;
  }
  // One activity may run many commands at once (preflight over 100 nodes), each listening to the
  // same cancellation signal: more than Node's default of 10 listeners is expected, not a leak.
  const signal = ctx.cancellationSignal;
  if (!widened.has(signal)) {
    setMaxListeners(1000, signal);
    widened.add(signal);
  }
  return ctx;
}

export function logger(): Logger {
  return currentContext()?.log ?? silentLogger;
}

export function heartbeat(details: unknown): void {
  const ctx = currentContext();
  if (ctx) ctx.heartbeat(details);
}

/** The details the previous attempt of this activity heartbeated (undefined outside an activity or on the first). */
export function priorHeartbeat(): unknown {
  try {
    return activityInfo().heartbeatDetails as unknown;
  } catch {
    return undefined;
  }
}

/** The current activity's cancellation signal, for waits. */
export function cancellationSignal(): AbortSignal | undefined {
  return currentContext()?.cancellationSignal;
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason instanceof Error ? signal.reason : new Error('cancelled'));
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason instanceof Error ? signal.reason : new Error('cancelled'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Runs `fn` over `items` with at most `limit` in flight, keeping order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (t: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  });
  await Promise.all(workers);
  return out;
}
