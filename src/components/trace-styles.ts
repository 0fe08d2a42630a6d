import { css } from 'lit'
import { cardStyles } from './shared-styles.ts'
import { v } from './theme.ts'

/** The trace panel's styles: the list, the filters, the waterfall (axis, bars, events, legend) and the span details. */
export const traceStyles = [
  cardStyles,
  css`
    .traces {
      display: grid;
      gap: 0.25rem;
      max-height: 16rem;
      overflow: auto;
      padding: 0;
      list-style: none;
    }
    .traces button {
      width: 100%;
      text-align: left;
    }
    .row {
      display: grid;
      /* one label width for every row, so the bars share a time axis */
      grid-template-columns: clamp(6rem, 35%, 14rem) minmax(0, 1fr);
      width: 100%;
      gap: 0.5rem;
      align-items: center;
      font-size: 0.9em;
      cursor: pointer;
      border: 0;
      background: none;
      text-align: left;
      padding: 0.1rem 0;
    }
    .bar-track {
      position: relative;
      height: 0.9rem;
      background: ${v('neutral-bg')};
      border-radius: 3px;
    }
    .bar {
      position: absolute;
      top: 0;
      bottom: 0;
      min-width: 2px;
      border-radius: 3px;
    }
    /* the critical path: a bar outlined in the text colour (colour alone tells peers apart) */
    .critical .bar {
      box-shadow: 0 0 0 2px ${v('fg')};
    }
    .failed .bar {
      background-image: repeating-linear-gradient(135deg, transparent 0 4px, ${v('error')} 4px 7px);
    }
    /* drawn from the attribute: the row's name stays "Span <name>" (its title says the duration) */
    .duration::after {
      content: attr(data-duration);
    }
    .duration {
      position: absolute;
      top: -0.05rem;
      font-size: 0.75em;
      white-space: nowrap;
      padding: 0 0.25rem;
    }
    /* on a pill of the card's colour: readable on any peer's colour */
    .duration.inside {
      background: ${v('card-bg')};
      border-radius: 2px;
      margin-right: 2px;
    }
    .event {
      position: absolute;
      top: -0.2rem;
      bottom: -0.2rem;
      width: 2px;
      background: ${v('fg')};
    }
    .axis {
      position: relative;
      height: 1.1rem;
      border-bottom: 1px solid ${v('border')};
      font-size: 0.75em;
    }
    .tick {
      position: absolute;
      bottom: 0;
      padding-bottom: 0.1rem;
      border-left: 1px solid ${v('border')};
      padding-left: 0.2rem;
      white-space: nowrap;
    }
    .tick.end {
      transform: translateX(-100%);
      border-left: 0;
      border-right: 1px solid ${v('border')};
      padding: 0 0.2rem 0.1rem 0;
    }
    .legend {
      display: flex;
      flex-wrap: wrap;
      gap: 0.25rem 1rem;
      padding: 0;
      margin: 0.25rem 0 0.5rem;
      list-style: none;
      font-size: 0.85em;
    }
    .swatch {
      display: inline-block;
      width: 0.8rem;
      height: 0.8rem;
      border-radius: 2px;
      vertical-align: -0.1rem;
      margin-right: 0.3rem;
    }
    .filters {
      display: flex;
      flex-wrap: wrap;
      gap: 0.5rem 1rem;
      align-items: end;
    }
    .filters input {
      width: 16rem;
      max-width: 100%;
    }
    .actions {
      display: flex;
      flex-wrap: wrap;
      gap: 0.5rem 1rem;
      align-items: center;
    }
    button.link {
      border: 0;
      background: none;
      padding: 0;
      color: ${v('link')};
      text-decoration: underline;
      cursor: pointer;
      text-align: left;
    }
    .events,
    .links {
      margin: 0.25rem 0;
      padding-left: 1.25rem;
    }
    table {
      border-collapse: collapse;
      font-size: 0.9em;
      width: 100%;
    }
    td,
    th {
      text-align: left;
      padding: 0.15rem 0.5rem;
      border-bottom: 1px solid ${v('border')};
      vertical-align: top;
    }
    /* attribute names whole; values (ids, JSON) wrap where they must */
    .table-scroll td {
      white-space: normal;
      overflow-wrap: anywhere;
      min-width: 8rem;
    }
  `
]
