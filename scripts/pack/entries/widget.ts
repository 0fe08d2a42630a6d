/**
 * `p2p-marketplace/widget`: the types of the `<p2p-marketplace>` element and of the events it
 * fires (bubbling and composed, so a host page hears them from outside the shadow DOM). The
 * element's code is the built widget (`dist/widget/p2p-marketplace.js`); `scripts/pack.ts` adds
 * the `HTMLElementTagNameMap` and `GlobalEventHandlersEventMap` entries to this file's
 * declarations, and `scripts/pack/widget-types-check.ts` keeps these types true to the element.
 */
import type { MarketplaceNode, NodeStatus, PublishResult } from '../../../src/core/index.ts'

/** What the widget offers: `search` (the default), `publish`, or `both`. */
export type WidgetMode = 'search' | 'publish' | 'both'

/** `light` (the default), `dark`, or `auto` (the visitor's system preference). */
export type WidgetTheme = 'light' | 'dark' | 'auto'

/** `mp-select`: a person opened a package. */
export interface MpSelectDetail {
  id: string
  version: string
}

/** `mp-error`: an operation failed; the message for people, the error's class name for code. */
export interface MpErrorDetail {
  message: string
  name: string
}

/** The events of `<p2p-marketplace>`, by name. */
export interface P2pMarketplaceEventMap {
  /** The page's node started; the detail is the node (also the element's `marketplace`). */
  'mp-ready': CustomEvent<MarketplaceNode>
  /** The node's state changed (`starting` → `bootstrapping` → `online`, or `offline`). */
  'mp-status': CustomEvent<NodeStatus>
  /** A person opened a package. */
  'mp-select': CustomEvent<MpSelectDetail>
  /** A package was published from the widget's form; the detail carries its `traceId`. */
  'mp-published': CustomEvent<PublishResult>
  /** An operation failed (the node could not start, a search or publish failed). */
  'mp-error': CustomEvent<MpErrorDetail>
}

type Listener<K extends keyof P2pMarketplaceEventMap> = (
  this: P2pMarketplaceElement,
  event: P2pMarketplaceEventMap[K]
) => unknown

/** `<p2p-marketplace>`: its attributes as properties, its node, and its typed events. */
export interface P2pMarketplaceElement extends HTMLElement {
  /** The relay's HTTP origin. @default the origin the widget's script came from */
  relay: string
  /** @default 'search' */
  mode: WidgetMode
  /** Text searched for as soon as the node is online. */
  query: string
  /** `<id>@<version>`: opens that package's page. */
  package: string
  /** The widget's title. @default 'Packages' */
  heading: string
  /** @default 'light' */
  theme: WidgetTheme
  /** The page's marketplace node (the node API of `p2p-marketplace`), once it has started. */
  readonly marketplace: MarketplaceNode | undefined
  addEventListener<K extends keyof P2pMarketplaceEventMap>(
    type: K,
    listener: Listener<K>,
    options?: boolean | AddEventListenerOptions
  ): void
  addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject,
    options?: boolean | AddEventListenerOptions
  ): void
  removeEventListener<K extends keyof P2pMarketplaceEventMap>(
    type: K,
    listener: Listener<K>,
    options?: boolean | EventListenerOptions
  ): void
  removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject,
    options?: boolean | EventListenerOptions
  ): void
}
