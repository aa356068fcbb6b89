/** The workflow's clock: inside a workflow `Date` is the task's time, the same on every replay. */
export function now(): string {
  return new Date().toISOString();
}
