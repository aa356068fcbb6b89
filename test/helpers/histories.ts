/**
 * Histories of real runs: tests save them under test-output/histories/, and
 * scripts/record-histories.sh copies them to test/fixtures/histories/ to be committed, so the
 * replay test catches a workflow change that would break upgrades in flight.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;

export const OUTPUT_DIR = path.resolve(__dirname, '../../test-output/histories');
export const FIXTURE_DIR = path.resolve(__dirname, '../fixtures/histories');

/** Saves the history of a workflow (and returns its JSON text, for secret scans). */
export async function saveHistory(handle: WorkflowHandle, name: string): Promise<string> {
  return writeHistory(await handle.fetchHistory(), handle.workflowId, name);
}

/**
 * Saves a run for the replay fixtures: the parent as `NAME-parent` (`NAME-parent-runK` for each
 * run when it continued as new) and each named child as `NAME-<its ID after the parent's, / → ->`.
 */
export async function saveRun(
  client: Client,
  handle: WorkflowHandle,
  name: string,
  children: string[] = [],
): Promise<string> {
  const runs: History[] = [];
  for (let runId: string | undefined; ;) {
    const history = await client.workflow.getHandle(handle.workflowId, runId).fetchHistory();
    runs.unshift(history);
    runId =
      history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId ?? undefined;
    if (!runId) break;
  }
  let json = '';
  for (const [k, history] of runs.entries()) {
    const file = runs.length === 1 ? `${name}-parent` : `${name}-parent-run${k + 1}`;
    json += writeHistory(history, handle.workflowId, file);
  }
  for (const child of children) {
    const id = `${handle.workflowId}/${child}`;
    json += await saveHistory(client.workflow.getHandle(id), `${name}-${child.replace(/\//g, '-')}`);
  }
  return json;
}

function writeHistory(history: History, workflowId: string, name: string): string {
  // Compact: a fixture is data for the replay test, not something to read line by line.
  const json = JSON.stringify(JSON.parse(historyToJSON(history)));
  mkdirSync(OUTPUT_DIR, { recursive: true });
  writeFileSync(path.join(OUTPUT_DIR, `${name}.json`), json);
  // Replay needs the original workflow ID (child IDs derive from it): kept in index.json.
  const indexFile = path.join(OUTPUT_DIR, 'index.json');
  const index = existsSync(indexFile)
    ? (JSON.parse(readFileSync(indexFile, 'utf8')) as Record<string, string>)
    : {};
  index[`${name}.json`] = workflowId;
  writeFileSync(indexFile, JSON.stringify(index, null, 2) + '\n');
  return json;
}
