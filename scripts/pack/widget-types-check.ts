/**
 * Compile-time only (checked by `npm run typecheck`, never run): the widget's published types
 * (`entries/widget.ts`) stay true to the element and the events it really fires.
 */
import type { MpErrorDetail as ComponentErrorDetail } from '../../src/components/events.ts'
import type { P2pMarketplace, WidgetMode, WidgetTheme } from '../../src/widget/p2p-marketplace.ts'
import type * as Published from './entries/widget.ts'

type Assert<T extends true> = T
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false

export type WidgetTypesMatch = [
  Assert<P2pMarketplace extends Published.P2pMarketplaceElement ? true : false>,
  Assert<Same<WidgetMode, Published.WidgetMode>>,
  Assert<Same<WidgetTheme, Published.WidgetTheme>>,
  Assert<Same<ComponentErrorDetail, Published.MpErrorDetail>>,
  Assert<Same<P2pMarketplace['marketplace'], Published.P2pMarketplaceElement['marketplace']>>
]
