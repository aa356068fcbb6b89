/**
 * Reading cluster.yaml and checking the key files. This file does I/O (node:fs, node:os): the CLI and
 * the worker use it; workflow code imports ./schema instead.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseDocument } from 'yaml';
import { InventoryError, type InventoryIssue } from './errors';
import { validateInventory, type Inventory } from './schema';

export interface ParseOptions {
  /** Folder that relative key paths are resolved against (the inventory file's folder). */
  baseDir: string;
  /** For `~` expansion; defaults to the current user's home. */
  homeDir?: string;
}

/** Parses and validates cluster.yaml text. Throws InventoryError naming each bad field and its fix. */
export function parseInventory(text: string, opts: ParseOptions): Inventory {
  // uniqueKeys: a key given twice is an error (YAML would silently keep the last one).
  // maxAliasCount bounds "billion laughs" alias expansion.
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true, strict: true });
  if (doc.errors.length > 0) {
    const issues: InventoryIssue[] = doc.errors.map((e) => {
      const pos = e.linePos?.[0];
      const where = pos ? `line ${pos.line}, column ${pos.col}` : 'unknown position';
      return {
        field: '(document)',
        message: `malformed YAML at ${where}: ${(e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}`,
        fix: `fix the YAML syntax at line ${pos?.line ?? '?'} (indentation, a missing ":" or an unclosed quote or bracket)`,
      };
    });
    throw new InventoryError(issues);
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw new InventoryError([
      {
        field: '(document)',
        message: `unreadable YAML: ${(e as Error).message}`,
        fix: 'remove YAML aliases (*name) and anchors (&name)',
      },
    ]);
  }
  if (raw === null || raw === undefined || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new InventoryError([
      {
        field: '(document)',
        message: raw === null || raw === undefined ? 'the file is empty' : 'the document is not a mapping',
        fix: 'start from the example in docs/inventory.md (apiVersion: kupgrade/v1, kind: Cluster, ...)',
      },
    ]);
  }
  return validateInventory(raw, {
    baseDir: path.resolve(opts.baseDir),
    homeDir: opts.homeDir ?? os.homedir(),
  });
}

/** Reads and validates a cluster.yaml. Key paths are resolved against the file's folder. */
export function loadInventory(file: string, opts: { homeDir?: string } = {}): Inventory {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = fs.readFileSync(abs, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new InventoryError(
      [
        {
          field: '(file)',
          message: `cannot read ${abs} (${code})`,
          fix: 'pass the path of your cluster.yaml with -f',
        },
      ],
      abs,
    );
  }
  try {
    return parseInventory(text, { baseDir: path.dirname(abs), homeDir: opts.homeDir });
  } catch (e) {
    if (e instanceof InventoryError) throw new InventoryError(e.issues, abs);
    throw e;
  }
}

/**
 * Checks the key files named by the inventory: the private key exists, is a regular file and is
 * readable by its owner only; the known_hosts file exists unless accept-new or pinned fingerprints
 * make it optional. Called by the CLI and the worker (workflows do no I/O).
 */
export function checkKeyFiles(inv: Inventory): void {
  const issues: InventoryIssue[] = [];
  const key = inv.ssh.privateKeyPath;
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(key);
  } catch {
    issues.push({
      field: 'ssh.privateKeyPath',
      message: `private key file ${key} does not exist or cannot be read`,
      fix: `create it (ssh-keygen -t ed25519 -f ${key}) or point ssh.privateKeyPath at your key`,
    });
  }
  if (st && !st.isFile()) {
    issues.push({
      field: 'ssh.privateKeyPath',
      message: `${key} is not a regular file`,
      fix: 'point ssh.privateKeyPath at the private key file',
    });
  } else if (st && (st.mode & 0o077) !== 0) {
    issues.push({
      field: 'ssh.privateKeyPath',
      message: `private key ${key} is readable by group or others (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')})`,
      fix: `chmod 600 ${key}`,
    });
  }
  const allPinned = inv.nodes.every((n) => inv.ssh.hostKeyFingerprints[n.name] !== undefined);
  if (inv.ssh.hostKeyPolicy === 'strict' && !allPinned && !fs.existsSync(inv.ssh.knownHostsPath)) {
    issues.push({
      field: 'ssh.knownHostsPath',
      message: `known_hosts file ${inv.ssh.knownHostsPath} does not exist (host-key policy strict)`,
      fix: `add the nodes' host keys (ssh-keyscan <address> >> ${inv.ssh.knownHostsPath}, after checking the fingerprints), pin them in ssh.hostKeyFingerprints, or set ssh.hostKeyPolicy: accept-new`,
    });
  }
  if (issues.length > 0) throw new InventoryError(issues);
}
