import { css } from 'lit'

/** Card and text styles shared by the app's components; colours come from custom properties. */
export const cardStyles = css`
  :host {
    display: block;
    font-family: var(--mp-font, system-ui, sans-serif);
    color: var(--mp-fg, #1d2330);
  }
  section {
    background: var(--mp-card-bg, #fff);
    border: 1px solid var(--mp-border, #d9dee8);
    border-radius: 8px;
    padding: 1rem;
    overflow-wrap: anywhere;
    min-width: 0;
  }
  h2 {
    font-size: 1rem;
    margin: 0 0 0.75rem;
  }
  code {
    font-family: var(--mp-mono, ui-monospace, monospace);
    font-size: 0.85em;
    word-break: break-all;
  }
  button {
    font: inherit;
    padding: 0.25rem 0.75rem;
    border-radius: 6px;
    border: 1px solid var(--mp-border, #d9dee8);
    background: var(--mp-button-bg, #f3f5f9);
    cursor: pointer;
  }
  button:focus-visible {
    outline: 2px solid var(--mp-accent, #2f6fed);
    outline-offset: 2px;
  }
  .muted {
    color: var(--mp-muted, #5b6474);
  }
`
