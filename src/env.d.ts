/** Vite's `?inline` CSS imports: the stylesheet as a string (for shadow roots). */
declare module '*.css?inline' {
  const css: string
  export default css
}
