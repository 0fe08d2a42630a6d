import { LitElement, css, html } from 'lit'
import { state } from 'lit/decorators.js'
import { chooseTheme, currentTheme, onThemeChange } from '../app/theme-preference.ts'

/**
 * The app's dark-theme switch: pressed while the page is dark. The system's preference applies
 * until it is used; then the person's choice wins, remembered in this browser.
 */
export class MpThemeToggle extends LitElement {
  static override styles = css`
    button {
      font: inherit;
      font-size: 0.9rem;
      color: inherit;
      background: transparent;
      border: 1px solid currentColor;
      border-radius: 999px;
      padding: 0.15rem 0.7rem;
      cursor: pointer;
      white-space: nowrap;
    }
    button:focus-visible {
      outline: 2px solid currentColor;
      outline-offset: 2px;
    }
  `

  @state() private dark = false
  private stop?: () => void

  override connectedCallback(): void {
    super.connectedCallback()
    this.dark = currentTheme() === 'dark'
    this.stop = onThemeChange(() => (this.dark = currentTheme() === 'dark'))
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    this.stop?.()
  }

  override render(): unknown {
    return html`<button
      type="button"
      aria-pressed=${this.dark ? 'true' : 'false'}
      title="Switch between the light and the dark theme (remembered in this browser)"
      @click=${() => chooseTheme(this.dark ? 'light' : 'dark')}
    >
      <span aria-hidden="true">${this.dark ? '☾' : '☀'}</span> Dark theme
    </button>`
  }
}

if (customElements.get('mp-theme-toggle') == null) customElements.define('mp-theme-toggle', MpThemeToggle)
