/**
 * Gates: the places a run waits for a person's approval (src/shared/gates.ts lists them), unless
 * the gate is off, already approved in this run, or the run auto-approves.
 */
import { condition } from '@temporalio/workflow';
import { ErrorType } from '../../shared/errors';
import { GATES, isGateName, type GateName } from '../../shared/gates';
import type { ApprovalRecord, ApproveRequest } from '../../shared/types';
import { now } from '../clock';
import { failure } from './errors';
import { APPROVE_KEYS, payloadProblem } from './payload';
import type { UpgradeRun } from './run';

/** Waits at a gate (unless disabled, already approved in this run, or auto-approved). */
export async function waitAtGate(run: UpgradeRun, name: GateName, hop?: number): Promise<void> {
  const s = run.s;
  if (!s.gates.includes(name)) return;
  const approved = (): boolean => s.approvals.some((a) => a.gate === name && a.hop === hop);
  if (approved()) return;
  if (s.autoApprove) {
    s.approvals.push({
      gate: name,
      ...(hop !== undefined ? { hop } : {}),
      by: 'auto-approve',
      at: now(),
      via: 'auto',
    });
    run.refresh();
    return;
  }
  s.gate = { name, ...(hop !== undefined ? { hop } : {}), openedAt: now() };
  run.refresh();
  await condition(() => run.abortRequested || approved());
  s.gate = undefined;
  run.refresh();
  run.checkAbort();
}

/** The approve Update's validator: the open gate, by an approver the cluster's policy allows. */
export function validateApprove(run: UpgradeRun, req: ApproveRequest | undefined): void {
  run.validateRunning();
  const bad = payloadProblem(req, APPROVE_KEYS);
  if (bad) throw failure(ErrorType.InvalidInput, `approval refused: ${bad}`);
  if (!req || typeof req.gate !== 'string' || !isGateName(req.gate)) {
    throw failure(
      ErrorType.InvalidInput,
      `unknown gate ${JSON.stringify(req?.gate)}; gates are ${GATES.join(', ')}`,
    );
  }
  const open = run.s.gate;
  if (!open)
    throw failure(
      ErrorType.GateNotOpen,
      `gate ${req.gate} is not open: no gate is open (phase ${run.s.phase})`,
    );
  if (open.name !== req.gate) {
    throw failure(ErrorType.GateNotOpen, `gate ${req.gate} is not open; the open gate is ${open.name}`);
  }
  checkApprover(run, req);
}

/** The cluster's approval policy (from the worker config, via checkUpgradeInput). */
function checkApprover(run: UpgradeRun, req: ApproveRequest): void {
  const p = run.s.approvalPolicy;
  if (!p) return;
  const by = typeof req.by === 'string' ? req.by.trim() : '';
  const cluster = run.s.cluster;
  if (p.approvers && !p.approvers.includes(by)) {
    throw failure(
      ErrorType.ApprovalRefused,
      `${by ? `"${by}"` : 'an approval without an identity'} may not approve gates of ${cluster}: the approvers are ${p.approvers.join(', ')} (the worker config's clusters.${cluster}.approvals); ask one of them to run \`kupgrade approve ${cluster}\``,
    );
  }
  const starter = run.input.options?.startedBy;
  if (p.distinctFromStarter && (!by || by === starter)) {
    throw failure(
      ErrorType.ApprovalRefused,
      `"${by}" started this upgrade of ${cluster} and may not approve it (approvals.distinctFromStarter): another approver must approve`,
    );
  }
  if (p.requireComment && !(typeof req.comment === 'string' && req.comment.trim())) {
    throw failure(
      ErrorType.ApprovalRefused,
      `an approval of ${cluster} needs a comment (approvals.requireComment): add --comment "<change ticket or reason>"`,
    );
  }
}

export function approve(run: UpgradeRun, req: ApproveRequest, via: 'update' | 'signal'): ApprovalRecord {
  const open = run.s.gate;
  const record: ApprovalRecord = { gate: req.gate, by: req.by || 'unknown', at: now(), via };
  if (open?.hop !== undefined) record.hop = open.hop;
  if (req.comment) record.comment = req.comment;
  run.s.approvals.push(record);
  run.s.gate = undefined;
  run.refresh();
  return record;
}
