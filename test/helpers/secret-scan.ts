/**
 * The secret scan of Temporal histories : no private key body, no "PRIVATE KEY"
 * marker, no passphrase or password value may appear in any workflow history, memo, search
 * attribute or summary. Used by test/integration/history-secrets.test.ts and, over every workflow of
 * the suite, by test/setup/global-teardown.ts.
 *
 * Payloads in a history are base64 (`"data": "eyJ..."`), so a plain text search of the history
 * JSON would find nothing: every base64-looking string is decoded, and decoded JSON is searched
 * recursively.
 */
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Needle {
  /** What it is, for the report (never the value itself). */
  label: string;
  value: string;
}

export interface Finding {
  where: string;
  label: string;
}

/** Always searched: the PEM/OpenSSH armour of any private key. */
export const PRIVATE_KEY_MARKER: Needle = { label: 'the "PRIVATE KEY" armour line', value: 'PRIVATE KEY' };

/** Tests register extra secrets (e.g. a passphrase they used) here, for the end-of-suite scan. */
export const NEEDLE_DIR = path.resolve(__dirname, '../../test-output/secret-needles');

/** The body of a private key file: each base64 line of the armoured body (≥ 16 chars). */
export function keyNeedles(file: string, label = file): Needle[] {
  if (!existsSync(file)) return [];
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length >= 16 && !l.startsWith('-----') && !/^[A-Za-z-]+:/.test(l));
  return lines.map((value, i) => ({ label: `line ${i + 1} of the private key ${label}`, value }));
}

/** Values of environment variables whose name says secret (PASSWORD, PASSPHRASE, TOKEN, ...). */
export function envNeedles(env: NodeJS.ProcessEnv = process.env): Needle[] {
  return Object.entries(env)
    .filter(([k, v]) => /PASSWORD|PASSPHRASE|SECRET|TOKEN|API_KEY/i.test(k) && v && v.length >= 6)
    .map(([k, v]) => ({ label: `the value of $${k}`, value: v! }));
}

const BASE64 = /^[A-Za-z0-9+/_-]{8,}={0,2}$/;

/** Every text a value carries: strings as they are, base64 decoded, decoded JSON walked again. */
export function texts(value: unknown, depth = 0, out: string[] = []): string[] {
  if (depth > 6 || value === null || value === undefined) return out;
  if (typeof value === 'string') {
    out.push(value);
    if (value.length % 4 === 0 && BASE64.test(value)) {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      out.push(decoded);
      const t = decoded.trim();
      if (t.startsWith('{') || t.startsWith('[') || t.startsWith('"')) {
        try {
          texts(JSON.parse(t), depth + 1, out);
        } catch {
          // not JSON: the decoded text was searched as it is
        }
      }
    }
    return out;
  }
  if (value instanceof Uint8Array) return texts(Buffer.from(value).toString('base64'), depth, out);
  if (Array.isArray(value)) {
    for (const v of value) texts(v, depth, out);
    return out;
  }
  if (typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      out.push(k);
      texts(v, depth, out);
    }
  }
  return out;
}

/** The needles found in `value` (a parsed history, a memo, ...), with `where` for the report. */
export function scanValue(value: unknown, needles: Needle[], where: string): Finding[] {
  const all = texts(value).join('\u0000');
  return needles.filter((n) => all.includes(n.value)).map((n) => ({ where, label: n.label }));
}

/**
 * Secrets the suite used: the client keys of every lab created since `since` (labs keep their
 * files after `down`), the passphrases tests registered in NEEDLE_DIR, secret-named env values.
 */
export function suiteNeedles(since: number): Needle[] {
  const needles: Needle[] = [PRIVATE_KEY_MARKER, ...envNeedles()];
  const tmp = os.tmpdir();
  for (const d of readdirSync(tmp)) {
    if (!d.startsWith('kupgrade-')) continue;
    const sshDir = path.join(tmp, d, 'ssh');
    if (!existsSync(sshDir)) continue;
    for (const f of readdirSync(sshDir)) {
      if (!/^id_|key$/.test(f) || f.endsWith('.pub')) continue;
      const file = path.join(sshDir, f);
      if (statSync(file).mtimeMs >= since) needles.push(...keyNeedles(file));
    }
  }
  if (existsSync(NEEDLE_DIR)) {
    for (const f of readdirSync(NEEDLE_DIR)) {
      const value = readFileSync(path.join(NEEDLE_DIR, f), 'utf8').trim();
      if (value) needles.push({ label: `the secret registered in ${f}`, value });
    }
  }
  return needles;
}

/**
 * Lists the workflows on the server (those started at or after `since`, if given) and scans each
 * one's history, memo, search attributes and summaries.
 */
export async function scanServer(
  address: string,
  needles: Needle[],
  opts: { namespace?: string; since?: Date } = {},
): Promise<{ workflows: number; findings: Finding[] }> {
  const connection = await Connection.connect({ address });
  try {
    const client = new Client({ connection, namespace: opts.namespace ?? 'default' });
    const query = opts.since ? `StartTime >= "${opts.since.toISOString()}"` : undefined;
    const findings: Finding[] = [];
    let workflows = 0;
    const pending: Promise<void>[] = [];
    const scanOne = async (workflowId: string, runId: string) => {
      const where = `${workflowId} (run ${runId})`;
      const handle = client.workflow.getHandle(workflowId, runId);
      const history = JSON.parse(historyToJSON(await handle.fetchHistory())) as unknown;
      findings.push(...scanValue(history, needles, `history of ${where}`));
      const d = await handle.describe();
      findings.push(
        ...scanValue(
          {
            memo: d.memo,
            searchAttributes: d.searchAttributes,
            summary: await d.staticSummary(),
            details: await d.staticDetails(),
          },
          needles,
          `memo/search attributes/summary of ${where}`,
        ),
      );
    };
    for await (const wf of client.workflow.list(query ? { query } : {})) {
      workflows++;
      pending.push(scanOne(wf.workflowId, wf.runId));
      if (pending.length >= 8) await Promise.all(pending.splice(0));
    }
    await Promise.all(pending);
    return { workflows, findings };
  } finally {
    await connection.close();
  }
}
