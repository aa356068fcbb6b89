/**
 * Replays committed histories of real lab upgrades against the current workflow code. A change that
 * is not replay-compatible (non-determinism) fails here, before it can break an upgrade in flight.
 */
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { FIXTURE_DIR } from '../helpers/histories';

const files = readdirSync(FIXTURE_DIR).filter((f) => f.endsWith('.json') && f !== 'index.json');
/** file → the workflow ID it ran under (child workflow IDs derive from it, so replay needs it). */
const index = JSON.parse(readFileSync(path.join(FIXTURE_DIR, 'index.json'), 'utf8')) as Record<
  string,
  string
>;

describe('replay of recorded upgrade histories', () => {
  it('has recorded histories of the parent and node workflows to replay', () => {
    expect(files.length).toBeGreaterThanOrEqual(2);
  });

  it('replays every recorded history without non-determinism', async () => {
    const histories = files.map((f) => ({
      workflowId: index[f] ?? path.basename(f, '.json'),
      history: historyFromJSON(JSON.parse(readFileSync(path.join(FIXTURE_DIR, f), 'utf8'))),
    }));
    const failures: string[] = [];
    let replayed = 0;
    for await (const r of Worker.runReplayHistories(
      { workflowsPath: require.resolve('../../src/workflows'), replayName: 'kupgrade-fixtures' },
      histories,
    )) {
      replayed++;
      if (r.error) failures.push(`${r.workflowId}: ${String(r.error)}`);
    }
    expect(failures).toEqual([]);
    expect(replayed).toBe(files.length);
  });
});
