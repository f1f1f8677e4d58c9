/** Vite's asset imports, as used by the page. */
declare module '*?url' {
  const url: string;
  export default url;
}
declare module '*.json' {
  const value: unknown;
  export default value;
}
interface ImportMeta {
  glob<T = unknown>(pattern: string, options: { eager: true; query?: string; import?: string }): Record<string, T>;
}
