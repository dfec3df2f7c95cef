/**
 * The view models the panel and the HTML report render: plain JSON, small whatever the corpus size
 * (histograms and curves are binned here, document lists come in pages). Neither side owns them: the
 * engine builds them (engine/report/queryView.ts, batchView.ts; the few analysis records they carry are
 * here too), server/src/protocol.ts re-exports them for the client and the webview. Types only.
 */

/** Mean and sample sd of a group's values (analysis/groups.ts summarize). */
export interface Summary {
  /** Values summarized (non-finite ones are left out). */
  n: number;
  mean: number | null;
  /** Sample standard deviation (n − 1); null for n < 2. */
  sd: number | null;
}

/** JSON-safe form of a t-test. */
export interface TestResult {
  t: number | null;
  df: number | null;
  p: number | null;
}

/** A source's count and share of a set of documents (analysis/sources.ts). */
export interface SourceShare {
  source: string;
  documents: number;
  share: number;
}

/** Which end of a query's ranking: the most helpful (top) or the most harmful (bottom) documents. */
export type Side = 'top' | 'bottom';

/** Per-nat scores when the query's information content is positive, raw scores otherwise. */
export type ScoreUnit = 'perNat' | 'raw';

/** The part of a (bold) snippet: plain strings, rendered as text nodes, never as HTML. */
export interface Snippet {
  before: string;
  /** The most influential span (empty when per-token influence is unknown). */
  bold: string;
  after: string;
}

export interface DocumentCard {
  side: Side;
  /** 1-based rank within its side (1 = most helpful for 'top', most harmful for 'bottom'). */
  rank: number;
  /** The document's corpus index (documents[].index of the results): what openDocument names. */
  docIndex: number;
  id: string;
  source: string;
  /** Raw influence I(q, d). */
  score: number;
  /** score ÷ nllNats; null when nllNats is not positive. */
  perNat: number | null;
  /** Tokens scored. */
  tokens: number;
  file: string;
  line?: number;
  /** With index scoring: whether this score was recomputed exactly. */
  exact?: boolean;
  /** Attached by the caller, who has the text (see ./snippet.ts). */
  snippet?: Snippet;
  /** Why there is no snippet, when the caller knows (the corpus changed since scoring). */
  noText?: string;
}

export interface CardPage {
  ref: string;
  side: Side;
  /** 0-based rank of the first card. */
  offset: number;
  /** Documents with a finite score (what the side can be paged through). */
  total: number;
  /** Cards that can be paged to when fewer than `total` (an HTML report inlines only the first ones). */
  available?: number;
  cards: DocumentCard[];
}

export interface ViewQuery {
  id: string;
  kind: string | null;
  task: string | null;
  prompt: string;
  completion: string;
  /** Summed NLL of the completion (nats). */
  nllNats: number;
  generated: boolean;
  answer: string | null;
  /** Token counts (the prompt's counts BOS), when known. */
  promptTokens?: number;
  completionTokens?: number;
}

/**
 * Per-nat influence over all documents, in equal-width bins symmetric about 0 (0 is an edge):
 * negative bins hold [lo, hi), positive bins (lo, hi]; exact zeros are counted apart.
 */
export interface Histogram {
  /** bins + 1 ascending edges, in `unit`. */
  edges: number[];
  counts: number[];
  positive: number;
  negative: number;
  zero: number;
  /** NaN or ±∞ scores (left out of the bins and of every ranking). */
  nonFinite: number;
}

/** A fitted power law score ≈ exp(intercept)·rank^alpha (natural logs), as engine/analysis/powerLaw.ts fits it. */
export interface CurveFit {
  alpha: number | null;
  intercept: number | null;
  r2: number | null;
  /** Top documents fitted. */
  points: number;
  /** The fit's cap on ranks (the paper: 500). */
  maxRank: number;
}

/** A sorted curve sampled at ranks (every rank up to 50, then about 40 per decade, and the last). */
export interface RankCurve {
  ranks: number[];
  /** |score| at each rank, in `unit` (positive, descending). */
  values: number[];
  /** Documents on the curve (the last rank). */
  count: number;
}

export interface TopKCurve {
  /** The positive scores, largest first. */
  positive: RankCurve;
  /** The negative scores by magnitude, largest first. */
  negative: RankCurve;
  /** The power law fitted to the positive curve; null when too few scores are positive. */
  fit: CurveFit | null;
}

/** Source over-representation for a ladder of k: share among the top (bottom) k ÷ share in the corpus. */
export interface SourceLadder {
  ks: number[];
  /** The sources shown (the largest by corpus share), with their corpus counts and shares. */
  sources: SourceShare[];
  /** Sources left out (the smallest, beyond the cap). */
  otherSources: number;
  /** source → multiplier per k (null when undefined). */
  top: Record<string, (number | null)[]>;
  bottom: Record<string, (number | null)[]>;
  /** The k shown first. */
  defaultK: number;
}

export interface QueryMethod {
  scoring: 'exact' | 'index';
  strategy?: string;
  rank?: number | null;
  /** With index scoring: top and bottom N rescored exactly. */
  rerank?: number;
}

export interface QueryView {
  kind: 'query';
  /** The caller's opaque id for this query: pages and messages name it. */
  ref: string;
  query: ViewQuery;
  method: QueryMethod | null;
  unit: ScoreUnit;
  /** What a per-nat score means, in one line, and the README section with the formula (per-nat views only). */
  meaning?: { line: string; section: string };
  /** Documents scored. */
  documents: number;
  summary: {
    /** Documents with a finite score. */
    ranked: number;
    max: number | null;
    min: number | null;
    /** Sum of the positive (negative) scores, in `unit`. */
    totalPositive: number;
    totalNegative: number;
    /** Share of the total positive influence carried by the top p% of documents. */
    topShares: { percent: number; documents: number; share: number | null }[];
  };
  histogram: Histogram;
  curve: TopKCurve;
  sources: SourceLadder;
  pageSize: number;
  top: CardPage;
  bottom: CardPage;
}

// ---------------------------------------------------------------------------------------------
// The batch view (a results folder with analysis.json).

export interface BatchQuery {
  ref: string;
  /** Position in the results' query list. */
  index: number;
  id: string;
  kind: string;
  task: string | null;
  prompt: string;
  completion: string;
  nllNats: number;
  answer: string | null;
  alpha: number | null;
}

/** A run of consecutive rows/columns of the heatmap sharing kind and task. */
export interface HeatmapGroup {
  kind: string;
  task: string | null;
  start: number;
  count: number;
}

export interface Heatmap {
  /** Query positions (into BatchView.queries) in heatmap order: grouped by kind, then task. */
  order: number[];
  groups: HeatmapGroup[];
  /** Pearson r in heatmap order (rows and columns), null where undefined. */
  r: (number | null)[][];
}

export interface CorrelationGroupRow {
  label: string;
  type: 'within' | 'across';
  queries: number;
  pairs: number;
  meanR: number | null;
  sdR: number | null;
  t: number | null;
  df: number | null;
  p: number | null;
  permutationP: number | null;
}

export interface BatchView {
  kind: 'batch';
  /** Where it came from (for the title). */
  title: string;
  createdAt: string;
  results: { queries: number; documents: number; strategy: string; rank: number | null; corpus: string };
  /** Kinds in report order. */
  kinds: string[];
  queries: BatchQuery[];
  heatmap: Heatmap;
  correlationGroups: CorrelationGroupRow[];
  totalInfluence: {
    percents: number[];
    byKind: Record<string, { absolute: Summary[]; relative: Summary[] }>;
    ratio100: number | null;
    ratio5: number | null;
    test100: TestResult | null;
  };
  answers:
    | {
        available: true;
        ks: number[];
        byKind: Record<string, { queries: number; hits: number[]; hitRate: (number | null)[]; correct: number; hitRateCorrect: (number | null)[] }>;
      }
    | { available: false; reason: string };
  sources: {
    ks: number[];
    sources: SourceShare[];
    byKind: Record<string, { queries: number; top: Record<string, (number | null)[]>; bottom: Record<string, (number | null)[]> }>;
  };
  powerLaw: {
    maxRank: number;
    byKind: Record<string, Summary>;
    byTask: Record<string, Summary>;
    test: ({ a: string; b: string; meanDifference: number | null } & TestResult) | null;
  };
}

/** Everything an HTML report inlines: the batch, every query's view, and the first cards of each side. */
export interface ReportData {
  batch: BatchView;
  queries: Record<string, QueryView>;
  /** ref → the cards inlined per side (with snippets), which the report pages through. */
  cards: Record<string, { top: DocumentCard[]; bottom: DocumentCard[] }>;
  /** Document text by corpus index (cut at REPORT_TEXT_CHARS), shown inline by "Open document". */
  texts: Record<string, string>;
  /** The tool that wrote it. */
  generatedBy: string;
}
