import { z } from 'zod'

// In a page, zod never compiles validators with `new Function`: the app's Content-Security-Policy
// has no 'unsafe-eval' (nor do many sites that embed the widget), and even zod's guarded probe for
// it is reported as a violation. zod decides when a schema is defined, so every module of the core
// that defines one takes `z` from here, and this runs first. Node keeps the compiled validators.
if (typeof (globalThis as { document?: unknown }).document !== 'undefined') z.config({ jitless: true })

export { z }
