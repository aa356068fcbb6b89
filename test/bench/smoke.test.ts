/**
 * The benchmark's 10-node smoke run, so `npm run bench` keeps working. No timed assertion: the
 * figures are printed, and only their sanity is checked (the bound is a lower bound; every run
 * passes the lab's check).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runBench } from '../../bench/run';

jest.setTimeout(20 * 60_000);

describe('bench smoke (10 nodes)', () => {
  it('measures kupgrade, the runbook, the Ansible peer and the bound, and writes the results', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'kupgrade-bench-smoke-'));
    const { doc, md } = await runBench({
      sizes: [10],
      speeds: [100],
      out,
      runbookMaxNodes: 10,
      ansibleMaxNodes: 10,
      windows: ['10%'],
      log: () => undefined,
      split: true,
    });
    console.log(md);
    const r = doc.results[0];
    expect(r.nodes).toBe(10);
    const k = r.runs[0];
    expect(k.checkPassed).toBe(true);
    expect(r.runbook?.checkPassed).toBe(true);
    // the Ansible peer ran the same window (serial = 10%) on its own fresh lab and passed its check
    expect(r.ansible?.map((a) => [a.serial, a.checkPassed])).toEqual([['10%', true]]);
    expect(md).toMatch(/\| 10 \| 100 \| ansible serial=10% \|/);
    // The bound comes from the lab's own time model: nothing can beat it by much.
    expect(k.ratioToBound).toBeGreaterThan(0.9);
    expect(Number.isFinite(k.overheadPerNodeMs.median)).toBe(true);
    expect(k.sshPerNode.commands).toBeGreaterThan(1);
    expect(k.historyEvents.parent).toBeGreaterThan(10);
    // --split: a worker's children ran activities over SSH, and the lab's tools held some of it
    const split = k.split!;
    expect(split.nodes).toBe(7);
    expect(split.activities).toBeGreaterThan(1);
    expect(split.events).toBeGreaterThan(split.activities * 3);
    expect(split.sshSessions).toBeGreaterThan(split.wrappedSessions);
    expect(split.wrappedSessions).toBeGreaterThan(0);
    expect(split.parts.tools).toBeGreaterThan(0);
    expect(split.parts.activityRun).toBeGreaterThan(0);
    // every part of a worker is at most its wall time, and so are the medians
    for (const part of Object.values(split.parts)) expect(part).toBeLessThanOrEqual(split.wallMs);
    expect(JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8')).results).toHaveLength(1);
    expect(readFileSync(path.join(out, 'results.md'), 'utf8')).toContain('| 10 | 100 |');
    expect(readFileSync(path.join(out, 'results.md'), 'utf8')).toContain("Where a worker's time goes");
  });
});
