/**
 * Reading an untrusted JSON body within bounds. JSON.parse itself copes with deep nesting, but
 * what walks the result afterwards (validators, the JSON writer, structured clones) recurses, and
 * 30,000 nested arrays overflow its stack: a RangeError, a 500. So the nesting is measured first,
 * in one linear pass over the text, and a document deeper than MAX_JSON_DEPTH is refused with a 400.
 *
 * 32: the deepest document the API takes (a rule set: set → rules → rule → action → fields) is
 * about 5 levels, so 32 leaves room for the schema to grow, while every recursive walk over a
 * body stays a few dozen frames deep, far below any stack limit.
 */
import { ZkMeterError } from '#protocol/errors.ts'

export const MAX_JSON_DEPTH = 32

/** 400: a JSON body nested deeper than the API ever needs (or not JSON at all). */
export class InvalidJsonError extends ZkMeterError {
  override name = 'InvalidJsonError'
}

/** The deepest nesting of objects and arrays in `text` (strings skipped), stopping past `limit`. */
export function jsonDepth(text: string, limit = Number.POSITIVE_INFINITY): number {
  let depth = 0
  let deepest = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c)
        i++ // backslash: the next character is escaped
      else if (c === 0x22) inString = false
    } else if (c === 0x22) inString = true
    else if (c === 0x5b || c === 0x7b) {
      depth++
      if (depth > deepest) {
        deepest = depth
        if (deepest > limit) return deepest
      }
    } else if (c === 0x5d || c === 0x7d) depth--
  }
  return deepest
}

/** JSON.parse of a request body, refusing nesting deeper than `maxDepth` first. */
export function parseJsonBody(text: string, maxDepth = MAX_JSON_DEPTH): unknown {
  if (jsonDepth(text, maxDepth) > maxDepth) {
    throw new InvalidJsonError(`the request body nests deeper than ${maxDepth} levels`, {
      details: { maxDepth },
    })
  }
  try {
    return JSON.parse(text)
  } catch {
    throw new InvalidJsonError('request body is not valid JSON')
  }
}
