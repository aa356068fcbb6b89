import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { scanServer, suiteNeedles } from '../helpers/secret-scan';

const FILE = path.resolve(__dirname, `../../test-output/dev-server-${process.pid}.json`);

/**
 * Before the dev server stops: every workflow this jest run started is scanned for secrets (lab
 * keys, registered passphrases, "PRIVATE KEY"); a finding fails the run (test/helpers/secret-scan.ts).
 */
async function scanHistories(): Promise<void> {
  const address = process.env.TEMPORAL_ADDRESS;
  if (!address) return;
  const since = Date.now() - process.uptime() * 1000;
  let result: Awaited<ReturnType<typeof scanServer>>;
  try {
    result = await scanServer(address, suiteNeedles(since), {
      namespace: process.env.TEMPORAL_NAMESPACE,
      since: new Date(since),
    });
  } catch (err) {
    console.warn(`\n[teardown] secret scan of the histories skipped: ${(err as Error).message}`);
    return;
  }
  if (result.findings.length > 0) {
    const lines = result.findings.map((f) => `  - ${f.label} in the ${f.where}`);
    throw new Error(`secrets found in Temporal histories:\n${lines.join('\n')}`);
  }
  console.log(`\n[teardown] secret scan: ${result.workflows} workflow(s), no secret found`);
}

export default async function globalTeardown(): Promise<void> {
  try {
    await scanHistories();
  } finally {
    stopServer();
  }
}

function stopServer(): void {
  if (!existsSync(FILE)) return;
  const { pid } = JSON.parse(readFileSync(FILE, 'utf8')) as { pid: number };
  rmSync(FILE);
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    // already gone (a crash test may restart it under another pid; that one records itself)
  }
}
