/**
 * Histories of real runs: integration tests save them under test-output/histories/, and
 * `npm run record-histories` copies them to test/fixtures/histories/ to be committed, so the
 * replay test catches a workflow change that would break upgrades in flight.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const OUTPUT_DIR = path.resolve(__dirname, '../../test-output/histories');
export const FIXTURE_DIR = path.resolve(__dirname, '../fixtures/histories');

/** Saves the history of a workflow (and returns its JSON text, for secret scans). */
export async function saveHistory(handle: WorkflowHandle, name: string): Promise<string> {
  // Compact: a fixture is data for the replay test, not something to read line by line.
  const json = JSON.stringify(JSON.parse(historyToJSON(await handle.fetchHistory())));
  mkdirSync(OUTPUT_DIR, { recursive: true });
  writeFileSync(path.join(OUTPUT_DIR, `${name}.json`), json);
  // Replay needs the original workflow ID (child IDs derive from it): kept in index.json.
  const indexFile = path.join(OUTPUT_DIR, 'index.json');
  const index = existsSync(indexFile)
    ? (JSON.parse(readFileSync(indexFile, 'utf8')) as Record<string, string>)
    : {};
  index[`${name}.json`] = handle.workflowId;
  writeFileSync(indexFile, JSON.stringify(index, null, 2) + '\n');
  return json;
}
