/**
 * The context keys the walkthrough's steps complete on (package.json, contributes.walkthroughs), set by
 * walkthrough.ts. No vscode here, so test/unit/walkthrough.test.ts checks the manifest against them.
 */
export const WALKTHROUGH_KEYS = {
  /** The embedded demo model is loaded. */
  demoLoaded: 'influenceLens.demoLoaded',
  /** A hover on a selection has shown ranked documents. */
  hoverAnswered: 'influenceLens.hoverAnswered',
  /** A model and a corpus other than the demo's are loaded. */
  ownModelLoaded: 'influenceLens.ownModelLoaded',
} as const;
