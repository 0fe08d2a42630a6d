/**
 * The app's sections as tabs on a phone (the tab bar shows at 600 px and narrower): one section at
 * a time. Each tab names its sections (`aria-controls`); the others get the `off-tab` class, which
 * the page's CSS hides at that width only. Arrow keys, Home and End move between tabs.
 */
export class SectionTabs {
  private readonly tabs: HTMLElement[]
  private readonly sections: HTMLElement[]

  constructor(tablist: HTMLElement, main: HTMLElement) {
    this.tabs = [...tablist.querySelectorAll<HTMLElement>('[role="tab"]')]
    this.sections = [...main.querySelectorAll<HTMLElement>(':scope > [data-tab]')]
    tablist.addEventListener('click', event => {
      const tab = (event.target as Element).closest<HTMLElement>('[role="tab"]')
      if (tab?.dataset.tab != null) this.select(tab.dataset.tab)
    })
    tablist.addEventListener('keydown', this.onKey)
  }

  /** The tab shown. */
  get selected(): string {
    return this.tabs.find(t => t.getAttribute('aria-selected') === 'true')?.dataset.tab ?? 'search'
  }

  /** Shows the sections of tab `name` (on a phone; a wider page shows them all anyway). */
  select(name: string, options: { focus?: boolean } = {}): void {
    for (const tab of this.tabs) {
      const on = tab.dataset.tab === name
      tab.setAttribute('aria-selected', String(on))
      tab.tabIndex = on ? 0 : -1
      if (on && options.focus === true) tab.focus()
    }
    for (const section of this.sections) section.classList.toggle('off-tab', section.dataset.tab !== name)
  }

  private readonly onKey = (event: KeyboardEvent): void => {
    const at = this.tabs.findIndex(t => t.dataset.tab === this.selected)
    const next =
      event.key === 'ArrowRight'
        ? (at + 1) % this.tabs.length
        : event.key === 'ArrowLeft'
          ? (at - 1 + this.tabs.length) % this.tabs.length
          : event.key === 'Home'
            ? 0
            : event.key === 'End'
              ? this.tabs.length - 1
              : undefined
    const name = next != null ? this.tabs[next]?.dataset.tab : undefined
    if (name == null) return
    event.preventDefault()
    this.select(name, { focus: true })
  }
}
