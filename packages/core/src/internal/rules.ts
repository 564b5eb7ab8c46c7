/**
 * The OCI rules as plain predicates. The schemas are built on them, and so is the fast validator that
 * checks whole indexes without Schema's per-node cost: one definition, two uses, no drift.
 * @internal
 */

const mediaTypePart = "[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"
const mediaTypePattern = new RegExp(`^${mediaTypePart}/${mediaTypePart}$`)

/** @internal */
export const isMediaType = (value: string): boolean => mediaTypePattern.test(value)

const uriPattern = /^[A-Za-z][A-Za-z0-9+.-]*:\S+$/

/** @internal */
export const isUri = (value: string): boolean => uriPattern.test(value)

const base64Pattern = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/** @internal */
export const isBase64 = (value: string): boolean => base64Pattern.test(value)

/** @internal */
export const base64DecodedLength = (text: string): number => {
  const padding = text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0
  return (text.length / 4) * 3 - padding
}

/** @internal */
export const sizeProblem = (value: number): string | undefined => {
  if (!Number.isFinite(value)) return `a size must be a finite number, got ${value}`
  if (!Number.isInteger(value)) return `a size must be a whole number of bytes, got ${value}`
  if (value < 0) return `a size must not be negative, got ${value}`
  if (value > Number.MAX_SAFE_INTEGER) return `a size must be at most 2^53-1 (${Number.MAX_SAFE_INTEGER}), got ${value}`
  return undefined
}

/** @internal */
export const isAnnotationKey = (key: string): boolean => key.length > 0 && !key.includes("\0") && key !== "__proto__"
