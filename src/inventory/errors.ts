/**
 * Inventory validation errors. Every problem names the field (a path such as `nodes[2].address`) and
 * a fix the operator can apply, because a bare "invalid input" sends people to read the code.
 * No I/O here: workflows may import this file.
 */

export interface InventoryIssue {
  /** Path of the offending field, e.g. `nodes[2].address`; `(document)` for YAML syntax, `(file)` for I/O. */
  field: string;
  message: string;
  fix: string;
}

export class InventoryError extends Error {
  readonly issues: InventoryIssue[];

  constructor(issues: InventoryIssue[], source?: string) {
    super(InventoryError.format(issues, source));
    this.name = 'InventoryError';
    this.issues = issues;
  }

  /** One line per issue, so the CLI can print the message as it is. */
  static format(issues: InventoryIssue[], source?: string): string {
    const head = `invalid inventory${source ? ` ${source}` : ''}: ${issues.length} problem${issues.length === 1 ? '' : 's'}`;
    const lines = issues.map((i) => `  - ${i.field}: ${i.message}\n    fix: ${i.fix}`);
    return [head, ...lines].join('\n');
  }
}
