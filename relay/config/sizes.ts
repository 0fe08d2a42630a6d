import { InvalidRelayConfigError } from './errors.ts'

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4
}

/** A size setting: a whole number of bytes, or with a binary unit (`512MiB`, `10 GiB`). */
export function parseByteSize(name: string, value: string | undefined): number {
  const match = /^\s*(\d+)\s*([a-z]*)\s*$/i.exec(value ?? '')
  const unit = UNITS[match?.[2]?.toLowerCase() ?? 'none']
  const bytes = match != null && unit != null ? Number(match[1]) * unit : NaN
  if (!Number.isSafeInteger(bytes))
    throw new InvalidRelayConfigError(
      `${name} must be a number of bytes, optionally with KiB, MiB, GiB or TiB (e.g. 10GiB), got "${value}"`
    )
  return bytes
}
