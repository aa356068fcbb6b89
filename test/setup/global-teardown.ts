import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';

const FILE = path.resolve(__dirname, `../../test-output/dev-server-${process.pid}.json`);

export default async function globalTeardown(): Promise<void> {
  if (!existsSync(FILE)) return;
  const { pid } = JSON.parse(readFileSync(FILE, 'utf8')) as { pid: number };
  rmSync(FILE);
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    // already gone (a crash test may restart it under another pid; that one records itself)
  }
}
