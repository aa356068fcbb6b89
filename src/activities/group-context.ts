/**
 * What one run of a step group (step-group.ts) has learned about its node, handed from sub-step to
 * sub-step so that a later one does not read again what an earlier one has just read: each read
 * is an SSH session on the API node, and the steps after a drain read the Node object up to three
 * times where one read and the Ready wait's own output tell the same.
 *
 * A sub-step that changes what an entry describes drops it (a kubelet restart changes the Node's
 * version and Ready condition). Called on its own, as an activity, a sub-step has no context and
 * reads everything itself; a retried group starts with an empty one.
 */
import type { GroupedStep } from '../shared/activities';
import type { NodeInfo } from './kubectl';
import type { SectionResult } from './script';

export interface GroupContext {
  /** the steps of this group run after the one running now */
  later: readonly GroupedStep[];
  /** the Node object as last read, or as `kubectl wait -o json` printed it when it was met */
  node?: NodeInfo;
  /**
   * The kubelet-restart step's node-side check (its marker, `systemctl is-active kubelet`), read in
   * the kubelet-packages step's session when the restart comes next; the restart takes it once.
   * The package install between changes neither (it writes its own marker).
   */
  restartCheck?: Map<string, SectionResult>;
  /**
   * The upgrade-node step's check (its marker, the kubeadm settings), read in the repo check's
   * session when upgrade-node comes after kubeadm-package, else in the session that verifies the
   * kubeadm just installed when upgrade-node comes next; neither step changes what it reads.
   */
  upgradeNodeCheck?: Map<string, SectionResult>;
  /**
   * `kubeadm version -o short` (exit code, stdout), read in the repo step's session when
   * kubeadm-package comes next; the repository switch does not change the installed kubeadm.
   */
  kubeadmVersion?: { exitCode: number; stdout: string };
  /**
   * The kubelet restart, run in the package install's transaction when the install had to run and
   * the restart comes next (one detached transaction on the node instead of two): its section.
   */
  restartRun?: SectionResult;
  /**
   * `kubectl uncordon`, run in the Ready wait's session when the uncordon comes next and the Node
   * the wait printed is cordoned: its section.
   */
  uncordonRun?: SectionResult;
  /**
   * `kubeadm upgrade node`, run in the kubeadm install's transaction when the install had to run,
   * upgrade-node comes next, its check said to run it and the new kubeadm reported the hop's
   * version: its section.
   */
  upgradeNodeRun?: SectionResult;
}

/** The reads one sub-step hands to the next; each is taken once. */
type HandedRead =
  'restartCheck' | 'upgradeNodeCheck' | 'kubeadmVersion' | 'restartRun' | 'uncordonRun' | 'upgradeNodeRun';

/** Whether `step` runs next in this group run (so a read for it can ride in this step's session). */
export function nextIs(ctx: GroupContext | undefined, step: GroupedStep): ctx is GroupContext {
  return ctx?.later[0] === step;
}

/** The read an earlier sub-step handed on for this one, removed so that nothing else reuses it. */
export function takeRead<K extends HandedRead>(ctx: GroupContext | undefined, key: K): GroupContext[K] {
  const v = ctx?.[key];
  if (ctx) delete ctx[key];
  return v;
}
