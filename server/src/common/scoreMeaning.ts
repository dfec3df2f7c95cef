/**
 * The one line that says what a per-nat score means, shared by the hover (Markdown) and the panel (plain
 * text, carried in the query view), and where the README explains it with the formula. Our own text only
 * (no corpus text), so it needs no escaping; this module imports nothing (the client takes it through
 * protocol.ts).
 */

/** The README's heading of the section with the formula (docs link to it by this title). */
export const SCORE_SECTION = 'What a score means';

/**
 * What "+2.6e3 per nat" means, in one line: what the score estimates, its sign, its scale and why it is per
 * nat. `nats` is the completion's NLL when known (the hover's query), else it is said in general.
 */
export function scoreMeaning(nats?: number): string {
  const per = nats !== undefined && Number.isFinite(nats) ? `the completion's ${nats.toFixed(2)} nats` : "the completion's nats";
  return (
    "Score/nat: under the influence-function approximation (EK-FAC), how much more weight on this document in training would raise the completion's log-probability " +
    '(+ more likely, − less; one more copy among N training documents: about score × nats ÷ N nats), ' +
    `divided by ${per} (its information content) so that queries of any length compare.`
  );
}

/** The 0-based line of the section's heading in the README's text, or undefined when it has none. */
export function scoreSectionLine(readme: string): number | undefined {
  const at = readme.split('\n').findIndex((l) => l.replace(/\r$/, '') === `## ${SCORE_SECTION}`);
  return at < 0 ? undefined : at;
}
