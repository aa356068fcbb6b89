/**
 * The worker the benchmark runs: `kupgrade worker` with its SSH pools observed. Writes peak RSS,
 * CPU seconds and the SSH counters (handshakes should stay ≈ number of hosts) to
 * KUPGRADE_STATS_FILE when the worker stops, and every 2 s, since the benchmark may kill it.
 */
import { writeFileSync } from 'node:fs';
import type { SshPoolEvent } from '../src/ssh/types';
import { runWorker } from '../src/worker';

const ssh = { handshakes: 0, commands: 0, connectionsOpen: 0, connectionFailures: 0, timeouts: 0 };

function count(event: SshPoolEvent): void {
  if (event === 'handshake') {
    ssh.handshakes++;
    ssh.connectionsOpen++;
  } else if (event === 'connection-closed') ssh.connectionsOpen--;
  else if (event === 'connection-failed') ssh.connectionFailures++;
  else if (event === 'command') ssh.commands++;
  else ssh.timeouts++;
}

function writeStats(file: string): void {
  const cpu = process.cpuUsage();
  const stats = {
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    ssh: { ...ssh },
  };
  writeFileSync(file, JSON.stringify(stats));
}

const statsFile = process.env.KUPGRADE_STATS_FILE;
if (statsFile) setInterval(() => writeStats(statsFile), 2000).unref();
async function main(): Promise<void> {
  try {
    await runWorker({ ssh: { observe: count } });
  } finally {
    if (statsFile) writeStats(statsFile);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
