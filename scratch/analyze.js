// ad-hoc: one upgrade of a small lab, then the timeline of one worker child's history
const path = require('path'), os = require('os'), fs = require('fs');
const { spawn } = require('child_process');
const R = '/work/main/dist';
const { Client, Connection } = require('@temporalio/client');
const { labUp, labDown } = require(R + '/lab/src/api');
const { loadInventory } = require(R + '/src/inventory');
const { WORKFLOW_TYPES } = require(R + '/src/shared/names');
const { startDevServer } = require(R + '/src/temporal/dev-server');
(async () => {
  const nodes = Number(process.argv[2] || 10), speed = Number(process.argv[3] || 100), mu = process.argv[4] || '1';
  const work = fs.mkdtempSync('/tmp/an-');
  const server = await startDevServer({ dbFile: work + '/t.db', logFile: work + '/s.log' });
  const client = new Client({ connection: await Connection.connect({ address: server.address }) });
  const dir = work + '/lab';
  await labUp({ dir, controlPlanes: 3, workers: nodes - 3, version: '1.29.6', packages: 'yum', speed });
  const w = spawn(process.execPath, [R + '/src/worker.js'], { env: { ...process.env, TEMPORAL_ADDRESS: server.address, KUPGRADE_TASK_QUEUE: 'q', KUPGRADE_POLL_MS: '100', KUPGRADE_LOG_LEVEL: 'WARN' }, stdio: ['ignore', 'inherit', 'inherit'] });
  const inventory = loadInventory(dir + '/cluster.yaml');
  const t0 = Date.now();
  const h = await client.workflow.start(WORKFLOW_TYPES.upgrade, { taskQueue: 'q', workflowId: 'an', args: [{ inventory, target: '1.30', options: { autoApprove: true, maxUnavailable: /%/.test(mu) ? mu : Number(mu), startedBy: 'an' } }] });
  const res = await h.result();
  console.log('wall', (Date.now() - t0) / 1000, res.phase);
  const hist = await h.fetchHistory();
  const ts = (e) => Number(e.eventTime.seconds) * 1000 + e.eventTime.nanos / 1e6;
  const first = ts(hist.events[0]);
  let kids = [];
  for (const e of hist.events) { const s = e.childWorkflowExecutionStartedEventAttributes; if (s) kids.push(s.workflowExecution.workflowId); }
  // parent timeline, compact
  const types = {};
  let prev = first;
  const lines = [];
  for (const e of hist.events) { const t = ts(e); const k = e.eventType; lines.push(`${(t - first).toFixed(0).padStart(7)} +${(t - prev).toFixed(0).padStart(5)} ${k}`); prev = t; }
  fs.writeFileSync(work + '/parent.txt', lines.join('\n'));
  for (const id of [kids[0], kids[Math.floor(kids.length / 2)], kids[Math.floor(kids.length / 2) + 1]]) {
    const ch = await client.workflow.getHandle(id).fetchHistory();
    let p = ts(ch.events[0]);
    console.log('== child', id, 'events', ch.events.length);
    for (const e of ch.events) { const t = ts(e); const a = e.activityTaskScheduledEventAttributes; console.log(`${(t - ts(ch.events[0])).toFixed(0).padStart(6)} +${(t - p).toFixed(0).padStart(5)} ${e.eventType}${a ? ' ' + a.activityType.name : ''}`); p = t; }
  }
  console.log('parent timeline in', work + '/parent.txt', 'events', hist.events.length);
  w.kill('SIGTERM'); await labDown(dir); await server.stop?.(); process.exit(0);
})().catch(e => { console.error(e); process.exit(1); });
