// The live SSH sessions of a lab as tests and fault injectors see them: DIR/ssh/sessions/NODE/
// PID.json (the record) joined with PID.cmd (the whole command, which the record only starts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sessionsDir, type SessionRecord } from './paths';

export interface LiveSession extends SessionRecord {
  node: string;
}

/** The sessions recorded now, on every node or on `node`; a session that ends meanwhile is left out. */
export function liveSessions(dir: string, node?: string): LiveSession[] {
  const root = path.join(dir, 'ssh', 'sessions');
  const out: LiveSession[] = [];
  let nodes: string[];
  try {
    nodes = node === undefined ? fs.readdirSync(root) : [node];
  } catch {
    return out;
  }
  for (const n of nodes) {
    let files: string[];
    try {
      files = fs.readdirSync(sessionsDir(dir, n));
    } catch {
      continue;
    }
    for (const f of files) {
      if (!f.endsWith('.json')) continue;
      try {
        const rec = JSON.parse(fs.readFileSync(path.join(sessionsDir(dir, n), f), 'utf8')) as SessionRecord;
        const cmd = fs.readFileSync(
          path.join(sessionsDir(dir, n), `${f.slice(0, -'.json'.length)}.cmd`),
          'utf8',
        );
        out.push({ ...rec, cmd, node: n });
      } catch {
        // a record being written or removed
      }
    }
  }
  return out;
}
