/**
 * The Temporal Web UI tells the story of a run: after a lab upgrade with a human approval, the
 * run's page shows the summary, a node's drain step and the approval. Debian's chromium driven by
 * playwright-core (never a downloaded browser); a screenshot goes to test-output/.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { loadInventory } from '../../src/inventory';
import { approveUpdate, stateQuery } from '../../src/shared/messages';
import { summaryFor, upgradeWorkflowId, WORKFLOW_TYPES } from '../../src/shared/names';
import type { UpgradeInput, UpgradeResult } from '../../src/shared/types';
import { Lab, ROOT } from '../helpers/lab';
import { client, startWorker, uniqueQueue } from '../helpers/temporal';

jest.setTimeout(10 * 60_000);

const CHROMIUM = '/usr/bin/chromium';

describe('Temporal Web UI of a lab upgrade', () => {
  let browser: Browser | undefined;
  let lab: Lab | undefined;
  afterAll(async () => {
    await browser?.close();
    lab?.down();
  });

  it('shows the summary, a drain step and the approval', async () => {
    const ui = process.env.KUPGRADE_TEST_UI;
    if (!ui)
      throw new Error('KUPGRADE_TEST_UI is not set: the jest global setup starts the dev server with its UI');
    expect(existsSync(CHROMIUM)).toBe(true);
    lab = Lab.up({ controlPlanes: 1, workers: 1, version: '1.29.6', packages: 'yum' });
    const inventory = loadInventory(lab.inventory);
    const queue = uniqueQueue('ui');
    const worker = await startWorker(queue, lab);
    const { client: c, close } = await client();
    const workflowId = upgradeWorkflowId(inventory.metadata.name);
    let runId: string;
    let child: { workflowId?: string | null; runId?: string | null } | null | undefined;
    try {
      const input: UpgradeInput = { inventory, target: '1.30', options: { gates: ['preflight'] } };
      const handle = await c.workflow.start(WORKFLOW_TYPES.upgrade, {
        taskQueue: queue,
        workflowId,
        args: [input],
        workflowIdConflictPolicy: 'FAIL',
        staticSummary: summaryFor(input),
      });
      runId = handle.firstExecutionRunId;
      for (;;) {
        const s = await handle.query(stateQuery);
        if (s.gate?.name === 'preflight') break;
        await new Promise((r) => setTimeout(r, 200));
      }
      await handle.executeUpdate(approveUpdate, {
        args: [{ gate: 'preflight', by: 'alice', comment: 'CAB-1234' }],
      });
      const result = (await handle.result()) as UpgradeResult;
      expect(result.phase).toBe('done');
      const workerNode = inventory.nodes.find((n) => n.role === 'worker')!.name;
      child = (await handle.fetchHistory()).events
        ?.map((e) => e.childWorkflowExecutionStartedEventAttributes?.workflowExecution)
        .find((x) => x?.workflowId?.includes(`/${workerNode}/`));
    } finally {
      await worker.stop();
      await close();
    }

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    });
    const page = await browser.newPage({ viewport: { width: 1600, height: 2400 } });
    const out = path.join(ROOT, 'test-output');
    mkdirSync(out, { recursive: true });
    const body = async () => (await page.locator('body').innerText()).replace(/\s+/g, ' ');
    const waitForText = async (re: RegExp, shot: string) => {
      try {
        await page.getByText(re).first().waitFor({ timeout: 90_000 });
      } finally {
        await page.screenshot({ path: path.join(out, shot), fullPage: true });
      }
    };
    await page.goto(`${ui}/namespaces/default/workflows/${encodeURIComponent(workflowId)}/${runId}/history`);
    // Oldest events first: the start event (with the summary) and the early approval are on page one.
    await page
      .getByRole('button', { name: /Descending/ })
      .first()
      .click({ timeout: 90_000 });
    // The run's summary (staticSummary) and the approval (an accepted Update "approve") are on its page.
    const summary = summaryFor({ inventory, target: '1.30', options: { gates: ['preflight'] } });
    await waitForText(new RegExp(escapeRe(summary.split(',')[0])), 'web-ui-run.png');
    expect(await body()).toContain(summary.split(',')[0]);
    await waitForText(/approve/i, 'web-ui-run.png');
    expect(await body()).toMatch(/approve/i);
    // The worker node's own workflow shows its drain step by its activity summary.
    expect(child?.workflowId).toBeDefined();
    await page.goto(
      `${ui}/namespaces/default/workflows/${encodeURIComponent(child!.workflowId!)}/${child!.runId}/history`,
    );
    await waitForText(/drain/i, 'web-ui-node.png');
    expect(await body()).toMatch(/drain/i);
  });
});

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
