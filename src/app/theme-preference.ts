/**
 * The app's light or dark theme: the system's (`prefers-color-scheme`) until the person picks one
 * with the toggle, then theirs, remembered in this browser. The page's CSS reads
 * `<html data-theme="light|dark">`; without it, the system's preference applies.
 */
export type ThemeChoice = 'light' | 'dark'

const KEY = 'p2p-marketplace:theme'
const DARK_QUERY = '(prefers-color-scheme: dark)'

/** The person's remembered choice, if any (storage refused: none). */
export function storedTheme(): ThemeChoice | undefined {
  try {
    const value = localStorage.getItem(KEY)
    return value === 'light' || value === 'dark' ? value : undefined
  } catch {
    return undefined // storage blocked (privacy settings): the system's theme applies
  }
}

/** The theme in effect: the person's choice, else the system's. */
export function currentTheme(): ThemeChoice {
  return storedTheme() ?? (matchMedia(DARK_QUERY).matches ? 'dark' : 'light')
}

/** Applies the remembered choice to the page; call once, as early as possible. */
export function applyStoredTheme(): void {
  const choice = storedTheme()
  if (choice != null) document.documentElement.dataset.theme = choice
}

/** Remembers `choice`, applies it, and tells the page (`p2p-marketplace:theme` on `window`). */
export function chooseTheme(choice: ThemeChoice): void {
  try {
    localStorage.setItem(KEY, choice)
  } catch {
    // not remembered (storage blocked); it still applies to this page
  }
  document.documentElement.dataset.theme = choice
  dispatchEvent(new CustomEvent('p2p-marketplace:theme', { detail: choice }))
}

/** Calls `listener` whenever the theme in effect may have changed (a choice, or the system's). */
export function onThemeChange(listener: () => void): () => void {
  const media = matchMedia(DARK_QUERY)
  media.addEventListener('change', listener)
  addEventListener('p2p-marketplace:theme', listener)
  return () => {
    media.removeEventListener('change', listener)
    removeEventListener('p2p-marketplace:theme', listener)
  }
}
