/** zod's issues turned into operator issues: the field path, what is wrong, and the fix. */
import type { z } from 'zod';
import type { InventoryIssue } from './errors';
import { fixFor, normalize } from './fixes';
import { closest } from './patterns';
import { KNOWN_KEYS } from './sections';

export function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))
    .join('.')
    .replace(/\.\[/g, '[');
}

export function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = root;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

export function show(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${show(v)}`;
}

/** zod issues → operator issues with the field path and a fix. */
export function toIssues(zodIssues: readonly z.core.$ZodIssue[], raw: unknown): InventoryIssue[] {
  const out: InventoryIssue[] = [];
  for (const iss of zodIssues) {
    const path = iss.path;
    const got = valueAt(raw, path);
    if (iss.code === 'unrecognized_keys') {
      const known = KNOWN_KEYS[normalize(path)] ?? [];
      for (const key of iss.keys) {
        const hint = closest(key, known);
        out.push({
          field: formatPath([...path, key]),
          message: `unknown field "${key}"${hint ? `; did you mean "${hint}"?` : ''}`,
          fix: hint
            ? `rename "${key}" to "${hint}"`
            : `remove "${key}"; known fields here: ${known.join(', ')}`,
        });
      }
      continue;
    }
    let message: string;
    if (iss.code === 'invalid_type') {
      message =
        got === undefined ? 'required field is missing' : `expected ${iss.expected}, got ${typeName(got)}`;
    } else if (iss.code === 'invalid_value') {
      message = `${show(got)} is not one of: ${iss.values.map((v) => String(v)).join(', ')}`;
    } else if (iss.code === 'too_small' && Array.isArray(got)) {
      message = `needs at least ${String(iss.minimum)} item(s)`;
    } else if (iss.code === 'too_small' || iss.code === 'too_big') {
      message = `${show(got)} is out of range`;
    } else if (iss.code === 'invalid_union') {
      message = `expected a string or a number, got ${typeName(got)}`;
    } else {
      message = `${iss.message}${got !== undefined && !iss.message.includes(show(got)) ? ` (got ${show(got)})` : ''}`;
    }
    out.push({ field: formatPath(path), message, fix: fixFor(path) });
  }
  return out;
}
