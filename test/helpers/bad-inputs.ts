/**
 * The bad-input corpus (test/fixtures/bad-inputs): cluster.yaml files that must be refused, each with
 * the field it is about and the text its fix must contain (expectations.json).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface BadInputCase {
  file: string;
  field: string;
  fix: string;
  check?: 'keys';
  key?: { path: string; mode: string };
  target?: string;
}

export const BAD_INPUTS_DIR = path.join(__dirname, '..', 'fixtures', 'bad-inputs');

export function badInputCases(): BadInputCase[] {
  const text = fs.readFileSync(path.join(BAD_INPUTS_DIR, 'expectations.json'), 'utf8');
  return (JSON.parse(text) as { cases: BadInputCase[] }).cases;
}
