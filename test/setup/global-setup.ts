/**
 * Jest global setup: one real Temporal dev server for the whole run (or the one at
 * TEMPORAL_ADDRESS), shared with every test file through environment variables.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startDevServer, waitForServer } from '../../src/temporal/dev-server';

const OUT = path.resolve(__dirname, '../../test-output');

export default async function globalSetup(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  if (process.env.TEMPORAL_ADDRESS) {
    await waitForServer(process.env.TEMPORAL_ADDRESS);
    console.log(`\n[setup] using the Temporal server at ${process.env.TEMPORAL_ADDRESS}`);
    return;
  }
  const started = Date.now();
  const server = await startDevServer({
    dbFile: path.join(OUT, `temporal-${process.pid}.db`),
    logFile: path.join(OUT, 'temporal-dev-server.log'),
  });
  process.env.TEMPORAL_ADDRESS = server.address;
  process.env.TEMPORAL_NAMESPACE = 'default';
  process.env.KUPGRADE_TEST_UI = server.uiAddress;
  process.env.KUPGRADE_TEST_SERVER_DB = server.dbFile;
  // Keyed by this jest process: concurrent jest runs must each stop only their own server.
  writeFileSync(path.join(OUT, `dev-server-${process.pid}.json`), JSON.stringify(server));
  console.log(
    `\n[setup] Temporal dev server started in ${Date.now() - started} ms at ${server.address} (UI ${server.uiAddress}, pid ${server.pid})`,
  );
}
