/**
 * Entry of the detached controller process: `node main.js --dir DIR`. Writes
 * DIR/controller.json {pid, host, port} once listening (the lab CLI copies the port into lab.json)
 * and persists the state on SIGTERM/SIGINT.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startController } from './server';

async function main(): Promise<void> {
  const i = process.argv.indexOf('--dir');
  const dir = i > 0 ? process.argv[i + 1] : undefined;
  if (!dir) {
    process.stderr.write('usage: controller --dir DIR [--port N]\n');
    process.exit(2);
  }
  const pi = process.argv.indexOf('--port');
  const port = pi > 0 ? Number(process.argv[pi + 1]) : undefined;
  const ctl = await startController(path.resolve(dir), { port });
  fs.writeFileSync(
    path.join(dir, 'controller.json'),
    JSON.stringify({ pid: process.pid, host: '127.0.0.1', port: ctl.port }) + '\n',
  );
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void ctl.close().finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`kupgrade-lab controller: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
