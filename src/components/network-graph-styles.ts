import { css } from 'lit'
import { cardStyles } from './shared-styles.ts'
import { v } from './theme.ts'

/**
 * The network graph's styles: each edge kind a line style and a colour, each reputation band a
 * fill, focus and selection rings; every colour a theme token, so the dark theme needs nothing.
 */
export const networkGraphStyles = [
  cardStyles,
  css`
    svg.graph {
      display: block;
      width: 100%;
      max-width: 36rem;
      height: auto;
      margin: 0 auto;
    }
    .edge {
      fill: none;
      stroke-width: 2;
    }
    .edge[data-kind='webrtc'] {
      stroke: ${v('accent')};
      stroke-width: 2.5;
    }
    .edge[data-kind='turn'] {
      stroke: ${v('warn')};
      stroke-width: 2.5;
      stroke-dasharray: 9 3 2 3;
    }
    .edge[data-kind='circuit'] {
      stroke: ${v('muted')};
      stroke-dasharray: 6 4;
    }
    .edge[data-kind='websockets'] {
      stroke: ${v('fg')};
      stroke-width: 2.5;
      stroke-dasharray: 0.5 4;
      stroke-linecap: round;
    }
    .edge[data-kind='other'] {
      stroke: ${v('muted')};
      stroke-width: 1;
    }
    .node {
      stroke: ${v('card-bg')};
      stroke-width: 2;
    }
    .node[data-band='good'] {
      fill: ${v('ok')};
    }
    .node[data-band='fair'] {
      fill: ${v('warn')};
    }
    .node[data-band='poor'] {
      fill: ${v('error')};
    }
    .node.shape {
      fill: ${v('muted')};
    }
    .self {
      fill: ${v('accent')};
      stroke: ${v('card-bg')};
      stroke-width: 2;
    }
    text {
      font-size: 11px;
      fill: ${v('fg')};
      text-anchor: middle;
      /* a halo in the card's colour keeps text readable where it crosses an edge */
      paint-order: stroke;
      stroke: ${v('card-bg')};
      stroke-width: 3px;
      stroke-linejoin: round;
    }
    /* on a phone the picture is drawn smaller than its coordinates: its text a little larger */
    @media (max-width: 600px) {
      svg.graph text {
        font-size: 13px;
      }
    }
    text.latency,
    text.more {
      fill: ${v('muted')};
    }
    text.more {
      text-anchor: start;
    }
    g.peer {
      cursor: pointer;
      outline: none;
    }
    /* the ring around a node is also what a click or a tap hits (a target wider than the dot) */
    .ring {
      fill: transparent;
      stroke: transparent;
      stroke-width: 2.5;
    }
    g.peer[aria-pressed='true'] .ring {
      stroke: ${v('fg')};
    }
    g.peer:focus-visible .ring {
      stroke: ${v('accent')};
      stroke-width: 3.5;
    }
    ul.legend {
      display: flex;
      flex-wrap: wrap;
      gap: 0.25rem 1rem;
      list-style: none;
      padding: 0;
      margin: 0.75rem 0 0;
      font-size: 0.85em;
    }
    ul.legend li {
      display: flex;
      align-items: center;
      gap: 0.35rem;
    }
    .details {
      margin-top: 0.75rem;
      border-top: 1px solid ${v('border')};
      padding-top: 0.75rem;
    }
    h3 {
      font-size: 0.95rem;
      margin: 0 0 0.5rem;
    }
    dl {
      display: grid;
      grid-template-columns: max-content minmax(0, 1fr);
      gap: 0.3rem 1rem;
      margin: 0;
    }
    dt {
      font-weight: 600;
    }
    dd {
      margin: 0;
    }
  `
]
