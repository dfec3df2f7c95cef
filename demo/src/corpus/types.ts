/** The demo corpus: documents labelled with a source after the taxonomy of Ruis et al. (2024). */

export const DEMO_SOURCES = ['code', 'math', 'qa', 'wiki', 'web'] as const;
export type DemoSource = (typeof DEMO_SOURCES)[number];

export interface DemoDocument {
  /** `<source>-<n>`, unique within the corpus. */
  id: string;
  source: DemoSource;
  text: string;
}

export interface GenerateOptions {
  /** Any safe integer; the same seed and size give the same corpus, byte for byte. */
  seed: number;
  /** Number of documents. */
  size: number;
  /** Share of each source (normalised); defaults to DEFAULT_SHARES. */
  shares?: Partial<Record<DemoSource, number>>;
}

export const DEFAULT_SEED = 20241118;
export const DEFAULT_SIZE = 4000;

export const DEFAULT_SHARES: Record<DemoSource, number> = {
  code: 0.2,
  math: 0.2,
  qa: 0.15,
  wiki: 0.25,
  web: 0.2,
};
