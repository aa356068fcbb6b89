// The live SSH sessions of a lab as tests and fault injectors see them: DIR/ssh/sessions/NODE/
// PID.json (the record) joined with PID.cmd (the whole command, which the record only starts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sessionCommandPath, sessionsDir, sessionsRoot, type SessionRecord } from './paths';

export interface LiveSession extends SessionRecord {
  node: string;
}

/** The sessions recorded now, on every node or on `node`; a session that ends meanwhile is left out. */
export function liveSessions(dir: string, node?: string): LiveSession[] {
  const out: LiveSession[] = [];
  let nodes: string[];
  try {
    nodes = node === undefined ? fs.readdirSync(sessionsRoot(dir)) : [node];
  } catch {
    return out;
  }
  for (const n of nodes) {
    const d = sessionsDir(dir, n);
    let files: string[];
    try {
      files = fs.readdirSync(d);
    } catch {
      continue;
    }
    for (const f of files) {
      if (!f.endsWith('.json')) continue;
      try {
        const rec = JSON.parse(fs.readFileSync(path.join(d, f), 'utf8')) as SessionRecord;
        const cmd = fs.readFileSync(sessionCommandPath(path.join(d, f)), 'utf8');
        out.push({ ...rec, cmd, node: n });
      } catch {
        // a record being written or removed
      }
    }
  }
  return out;
}
