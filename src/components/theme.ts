import { css, unsafeCSS } from 'lit'
import type { CSSResult } from 'lit'

/**
 * The colours of every component, each read from a `--mp-*` custom property. Only the first three
 * have literal defaults (a light theme); every other one is mixed from them, so a page that sets
 * `--mp-fg`, `--mp-card-bg` and `--mp-accent` (say, a dark theme) gets readable badges, errors and
 * borders without naming them; any of them can still be set on its own.
 */
const LIGHT = { fg: '#1d2330', 'card-bg': '#ffffff', accent: '#2f6fed' } as const

/** The same three for a dark theme (the app's dark mode, the widget's `theme="dark"`). */
export const DARK = { fg: '#e4e8f0', 'card-bg': '#18202b', accent: '#8ab0ff' } as const

type Base = keyof typeof LIGHT

const base = (name: Base): string => `var(--mp-${name}, ${LIGHT[name]})`
const tint = (colour: string, share: number, over: string): string =>
  `color-mix(in srgb, ${colour} ${share}%, ${over})`

/** Semantic hues, mixed with the text colour so they stay readable on light and dark cards alike. */
const HUE = { ok: '#1f9d4a', warn: '#c98a00', error: '#d42a1f' } as const

const DERIVED = {
  muted: tint(base('fg'), 72, base('card-bg')),
  border: tint(base('fg'), 18, base('card-bg')),
  'button-bg': tint(base('fg'), 6, base('card-bg')),
  'input-bg': base('card-bg'),
  'neutral-bg': tint(base('fg'), 8, base('card-bg')),
  link: tint(base('accent'), 80, base('fg')),
  'badge-bg': tint(base('accent'), 14, base('card-bg')),
  ok: tint(HUE.ok, 62, base('fg')),
  'ok-bg': tint(HUE.ok, 16, base('card-bg')),
  warn: tint(HUE.warn, 62, base('fg')),
  'warn-bg': tint(HUE.warn, 18, base('card-bg')),
  error: tint(HUE.error, 62, base('fg')),
  'error-bg': tint(HUE.error, 14, base('card-bg'))
} as const

/** Every colour token, by name (without `--mp-`). */
export type Token = Base | keyof typeof DERIVED

/** `var(--mp-<name>, <its default>)`, to use in a component's `css`. */
export function v(name: Token): CSSResult {
  return unsafeCSS(
    name in LIGHT ? base(name as Base) : `var(--mp-${name}, ${DERIVED[name as keyof typeof DERIVED]})`
  )
}

/**
 * Categorical hues that tell peers apart (the Okabe–Ito palette, readable by people with colour
 * blindness), mixed with the text colour so they stay visible on light and dark cards.
 */
const PEER_HUES = [
  '#0072b2',
  '#e69f00',
  '#009e73',
  '#cc79a7',
  '#56b4e9',
  '#d55e00',
  '#7a6fca',
  '#8c8c00'
] as const

/** How many peers get a colour of their own; more peers reuse them in turn. */
export const PEER_COLOURS = PEER_HUES.length

/** The colour of the `index`th peer (`--mp-peer-<n>`), as a CSS value for a style attribute. */
export function peerColour(index: number): string {
  const n = ((index % PEER_COLOURS) + PEER_COLOURS) % PEER_COLOURS
  return `var(--mp-peer-${n}, ${tint(PEER_HUES[n]!, 80, base('fg'))})`
}

/** Every token name, for the README's list and tests. */
export const TOKENS: readonly Token[] = [
  ...(Object.keys(LIGHT) as Base[]),
  ...(Object.keys(DERIVED) as Token[])
]

/** Declarations that switch the base colours to the dark theme (inside a rule). */
export const darkDeclarations: CSSResult = unsafeCSS(
  Object.entries(DARK)
    .map(([name, value]) => `--mp-${name}: ${value};`)
    .join(' ')
)

/** The styles every themed shadow root shares: links, inputs and the focus ring in the theme's colours. */
export const themeBasics = css`
  a {
    color: ${v('link')};
  }
  input,
  textarea,
  select {
    color: inherit;
    background: ${v('input-bg')};
    border: 1px solid ${v('border')};
  }
  :focus-visible {
    outline: 2px solid ${v('accent')};
    outline-offset: 2px;
  }
`
