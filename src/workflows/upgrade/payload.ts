/** Size and shape caps of the payload of an Update or Signal. */

/** Longest `by` and `comment` of an Update or Signal, and the largest payload (JSON characters). */
export const MESSAGE_LIMITS = { by: 128, comment: 1024, payload: 4096 } as const;

export const APPROVE_KEYS = ['gate', 'by', 'comment'] as const;
export const DECIDE_KEYS = ['action', 'node', 'by', 'comment'] as const;

/** Why a payload is refused (size, unknown fields, `by`, `comment`), or undefined. */
export function payloadProblem(req: unknown, keys: readonly string[]): string | undefined {
  if (req === undefined || req === null) return undefined;
  if (typeof req !== 'object' || Array.isArray(req)) return 'the request is not a mapping';
  const size = JSON.stringify(req).length;
  if (size > MESSAGE_LIMITS.payload)
    return `the request is ${size} characters; at most ${MESSAGE_LIMITS.payload} are accepted (shorten the comment)`;
  const unknown = Object.keys(req).filter((k) => !keys.includes(k));
  if (unknown.length) return `unknown field(s) ${unknown.join(', ')}; fields are ${keys.join(', ')}`;
  const r = req as { by?: unknown; comment?: unknown };
  if (r.by !== undefined && (typeof r.by !== 'string' || r.by.length > MESSAGE_LIMITS.by))
    return `by must be a name of at most ${MESSAGE_LIMITS.by} characters`;
  if (r.comment !== undefined && (typeof r.comment !== 'string' || r.comment.length > MESSAGE_LIMITS.comment))
    return `comment must be a text of at most ${MESSAGE_LIMITS.comment} characters`;
  return undefined;
}
