/**
 * Starts the real API side of a lab inside the controller process (`up --api real`): the control
 * plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler of the lab's release), then
 * the node agent; a fresh lab is seeded and waited on until its workloads run.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Cluster } from '../controller/cluster';
import { ApiClient } from './client';
import { ControlPlane } from './control-plane';
import { NodeAgent } from './agent';
import { apiPkiPaths, realKubeconfig } from './pki';

export interface RealApi {
  agent: NodeAgent;
  cp: ControlPlane;
  close(): Promise<void>;
}

export function apiDir(labDir: string): string {
  return path.join(labDir, 'api');
}

export async function startRealApi(labDir: string, cl: Cluster, fresh: boolean): Promise<RealApi> {
  const dir = apiDir(labDir);
  const cp0 = cl.controlPlanes()[0]!;
  const pki = apiPkiPaths(path.join(dir, 'pki'));
  const kubeconfig = path.join(dir, 'admin.conf');
  const cp = new ControlPlane({ dir, address: cp0.address, pki, kubeconfig });
  fs.writeFileSync(kubeconfig, realKubeconfig(pki, cp.server), { mode: 0o600 });
  const killAll = () => cp.killAll();
  process.once('exit', killAll);
  const t0 = Date.now();
  const say = (m: string) =>
    process.stderr.write(`kupgrade-lab: ${m} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
  await cp.startEtcd();
  say('etcd up');
  const version = newestApiserver(cl);
  await cp.ensureApiserver(version);
  say(`kube-apiserver v${version} ready`);
  await cp.ensureControllers(version);
  const agent = new NodeAgent(cl, new ApiClient(cp.server, pki), cp, cp0.address);
  if (fresh) {
    await agent.seed();
    say('nodes and workloads created');
  }
  agent.start();
  cl.api = agent;
  await agent.waitWorkloads(180_000);
  await agent.sync();
  say('workloads available');
  return {
    agent,
    cp,
    close: async () => {
      cl.api = null;
      await agent.stop();
      await cp.stop();
      process.removeListener('exit', killAll);
    },
  };
}

function newestApiserver(cl: Cluster): string {
  const vs = cl.controlPlanes().map((n) => n.cp!.apiserver);
  return vs.sort((a, b) => {
    const x = a.split('.').map(Number);
    const y = b.split('.').map(Number);
    return x[1]! - y[1]! || x[2]! - y[2]!;
  })[vs.length - 1]!;
}
