/**
 * The preflight report as it is built: every warning and failure kept, per-node passes folded into
 * one `pass` line per check so a 1,000-node report stays small.
 */
import type { PreflightCheck } from '../shared/activities';

export class CheckList {
  readonly checks: PreflightCheck[] = [];
  private readonly passes = new Map<string, number>();

  /** One more node (or check) for which `name` passed. */
  pass(name: string): void {
    this.passes.set(name, (this.passes.get(name) ?? 0) + 1);
  }

  add(check: PreflightCheck): void {
    this.checks.push(check);
  }

  /** The checks, then one pass line per check that passed somewhere and failed nowhere. */
  report(): PreflightCheck[] {
    const out = [...this.checks];
    for (const [name, count] of this.passes) {
      if (!out.some((c) => c.name === name && c.status === 'fail')) {
        out.push({ name, status: 'pass', message: `ok on ${count} ${count === 1 ? 'check' : 'checks'}` });
      }
    }
    return out;
  }
}
