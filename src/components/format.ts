/** Bytes for people: `512 bytes`, `5.0 MiB`. */
export function bytesText(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(1)} ${units[unit]}`
}

/** A form field's text (a file field, or a missing one, gives ''). */
export function textOf(value: FormDataEntryValue | null): string {
  return typeof value === 'string' ? value : ''
}
