/**
 * Running an activity function outside a worker, for the tests that call activities directly
 * (over FakeSsh or over real SSH to a lab): a mock activity context that records heartbeats, and
 * the failure an activity ends with.
 */
import { MockActivityEnvironment } from '@temporalio/testing';

/** Runs an activity function in a mock activity context (heartbeats recorded). */
export async function inActivity<T>(
  fn: () => Promise<T>,
  info: Record<string, unknown> = {},
): Promise<{ value: T; heartbeats: unknown[] }> {
  const env = new MockActivityEnvironment(info);
  const heartbeats: unknown[] = [];
  env.on('heartbeat', (d: unknown) => heartbeats.push(d));
  const value = (await env.run(fn)) as T;
  return { value, heartbeats };
}

/** Runs an activity expected to fail; returns the failure. */
export async function failureOf(fn: () => Promise<unknown>): Promise<{
  type?: string;
  message: string;
  nonRetryable?: boolean;
  details?: unknown[];
}> {
  try {
    await inActivity(fn);
  } catch (e) {
    return e as { type?: string; message: string; nonRetryable?: boolean; details?: unknown[] };
  }
  throw new Error('expected the activity to fail');
}

export function detail(f: { details?: unknown[] | null }): {
  node: string;
  command?: string;
  outputTail: string;
  hints: string[];
  backupDirs: string[];
  [k: string]: unknown;
} {
  return (f.details?.[0] ?? {}) as never;
}
