/**
 * The lab's programmatic API for tests, the benchmark and the demo:
 *   const lab = await labUp({dir, controlPlanes: 1, workers: 2, version: '1.29.6', packages: 'yum', speed: 200});
 *   await injectFault(dir, {kind: 'fail', match: 'kubeadm upgrade apply', times: 2});
 *   await setNodeDown(dir, 'w-1', true);
 *   const r = checkLab(dir, {target: 'v1.30.14'});
 *   await labDown(dir);
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkEvents, type CheckOptions, type CheckResult } from './check/replay';
import {
  up,
  down,
  status,
  injectFault,
  clearFaults,
  listFaults,
  setNodeDown,
  operatorCordon,
  readSpec,
  type UpOptions,
} from './lab';

export { injectFault, clearFaults, listFaults, setNodeDown, operatorCordon, status as labStatus, readSpec };
export { checkEvents, formatViolations } from './check/replay';
export { liveSessions, type LiveSession } from './sshd/sessions';
export type { CheckOptions, CheckResult, Violation } from './check/replay';
export type { FaultSpec, Fault, LabSpec } from './model/state';
export { TIME, scaled, nodeUpgradeMs, hopBoundMs, workerPrepareMs } from './model/time-model';
import { pdbLoadsOf, type PdbLoad } from './model/time-model';
import type { ClusterState } from './model/state';
export type { PdbLoad } from './model/time-model';
export type { UpOptions, UpResult, LabStatus } from './lab';

export const labUp = (o: UpOptions) => up(o);
export const labDown = (dir: string) => down(dir);

/** Replays DIR/events.jsonl (see `kupgrade-lab check`). */
export function checkLab(dir: string, opts: CheckOptions): CheckResult {
  const text = fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8');
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return checkEvents(lines, opts);
}

/** The environment that makes a shim act as node `node` without SSH (KUPGRADE_LAB_ROOT mode). */
export function shimEnv(dir: string, node: string): Record<string, string> {
  return {
    KUPGRADE_LAB_DIR: dir,
    KUPGRADE_LAB_NODE: node,
    KUPGRADE_LAB_ROOT: path.join(dir, 'nodes', node),
  };
}

/** The PDB loads of a lab (DIR/state.json), for the bound of an upgrade of it (`hopBoundMs`). */
export function labPdbLoads(dir: string): PdbLoad[] {
  return pdbLoadsOf(JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')) as ClusterState);
}
