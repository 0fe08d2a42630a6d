import { describeError } from '../core/errors.ts'

/** What `mp-error` carries: the message for people, the error's class name for code. */
export interface MpErrorDetail {
  message: string
  name: string
}

/**
 * Tells the page an operation failed: `mp-error` (bubbling, composed, so a host page hears it from
 * inside the widget's shadow DOM), detail `{ message, name }`. Returns the message to show.
 */
export function emitError(from: EventTarget, err: unknown): string {
  const message = describeError(err)
  const name = err instanceof Error ? err.name : 'Error'
  from.dispatchEvent(
    new CustomEvent<MpErrorDetail>('mp-error', { detail: { message, name }, bubbles: true, composed: true })
  )
  return message
}
