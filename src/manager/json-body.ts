// Request bodies as JSON, bounded before they are parsed. JSON.parse recurses
// once per nesting level, so 5,000 nested arrays overflow the stack (and a
// handler never needs more than a few levels): the nesting depth is counted in
// one pass over the text first, and a body nested deeper is refused.
import { BODY_NOT_JSON, BODY_TOO_DEEP } from '../catalogue/manager.js';

/** API bodies are flat objects with at most an array of strings; 32 leaves room and keeps JSON.parse shallow. */
export const MAX_BODY_DEPTH = 32;

/**
 * The deepest nesting of arrays and objects in `text`, counting brackets
 * outside strings; stops counting once `limit` is passed. Malformed JSON
 * gives some number: JSON.parse reports it afterwards.
 */
export function jsonDepth(text: string, limit = Infinity): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

/** Parses a request body: nesting deeper than MAX_BODY_DEPTH is 400 KURA-E4031, bad JSON 400 KURA-E4002. */
export function parseJsonBody(text: string): unknown {
  if (jsonDepth(text, MAX_BODY_DEPTH) > MAX_BODY_DEPTH) {
    throw BODY_TOO_DEEP({ maxBodyDepth: MAX_BODY_DEPTH });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw BODY_NOT_JSON({ reason: (e as Error).message });
  }
}
