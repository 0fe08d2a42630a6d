import { css } from 'lit'
import { themeBasics, v } from './theme.ts'

/** Card, text, badge, table and empty-state styles shared by the app's components; colours from `theme.ts`. */
export const cardStyles = [
  themeBasics,
  css`
    :host {
      display: block;
      font-family: var(--mp-font, system-ui, sans-serif);
      color: ${v('fg')};
    }
    section {
      background: ${v('card-bg')};
      border: 1px solid ${v('border')};
      border-radius: 8px;
      padding: 1rem;
      overflow-wrap: break-word;
      min-width: 0;
    }
    h2 {
      font-size: 1rem;
      margin: 0 0 0.75rem;
    }
    code {
      font-family: var(--mp-mono, ui-monospace, monospace);
      font-size: 0.85em;
      overflow-wrap: anywhere;
    }
    button {
      font: inherit;
      color: ${v('fg')};
      padding: 0.25rem 0.75rem;
      border-radius: 6px;
      border: 1px solid ${v('border')};
      background: ${v('button-bg')};
      cursor: pointer;
    }
    button:disabled {
      color: ${v('muted')};
      cursor: default;
    }
    .muted {
      color: ${v('muted')};
    }
    .error {
      color: ${v('error')};
    }
    .badge {
      display: inline-block;
      font-size: 0.8em;
      padding: 0 0.4rem;
      border-radius: 4px;
      background: ${v('badge-bg')};
      margin-right: 0.3rem;
      white-space: nowrap;
    }
    .badge.verified {
      background: ${v('ok-bg')};
    }
    .badge.unverified {
      background: ${v('neutral-bg')};
    }
    .badge.lookalike {
      background: ${v('warn-bg')};
      font-weight: 600;
      white-space: normal;
    }
    /* an empty list says why and what to do */
    .empty {
      border: 1px dashed ${v('border')};
      border-radius: 6px;
      padding: 0.75rem 1rem;
      color: ${v('muted')};
    }
    .empty strong {
      color: ${v('fg')};
    }
    /* a table scrolls sideways inside its own box, never the page; words are never broken */
    .table-scroll {
      overflow-x: auto;
      max-width: 100%;
    }
    .table-scroll table {
      overflow-wrap: normal;
    }
    .table-scroll th,
    .table-scroll td {
      white-space: nowrap;
    }
  `
]
