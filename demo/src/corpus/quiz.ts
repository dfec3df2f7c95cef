/**
 * Factual questions and answers about the countries of facts.ts, in several wordings and
 * layouts. The qa and web sources use them for quiz pages and threads; the demo's factual
 * queries use a few of the same wordings, so a small model trained on the corpus has seen the
 * form of the question (never with an exotic phrasing only the query has).
 */
import type { Rng } from '../rng';
import { type Country, isTranscontinental, listJoin, mainCurrency } from './facts';
import { noteFact } from './labels';

export type FactTask = 'capital' | 'currency' | 'continent' | 'language';
export const FACT_TASKS: readonly FactTask[] = ['capital', 'currency', 'continent', 'language'];

export interface FactQuestion {
  task: FactTask;
  country: Country;
  question: string;
  answer: string;
}

/** The answer to a factual task, or undefined where the dataset has no single clear answer. */
export function factAnswer(task: FactTask, c: Country, strict = false): string | undefined {
  switch (task) {
    case 'capital':
      return c.capital;
    case 'currency':
      return strict && c.currencies.length > 1 ? undefined : mainCurrency(c).name;
    case 'continent':
      if (isTranscontinental(c)) return strict ? undefined : listJoin(c.continents);
      return c.continent;
    case 'language':
      if (strict && c.languages.length > 1) return undefined;
      return listJoin(c.languages.slice(0, 3));
  }
}

/** Question wordings per task; index 0 is the canonical one the demo queries use most. */
export const QUESTION_WORDINGS: Record<FactTask, readonly ((c: Country) => string)[]> = {
  capital: [
    (c) => `What is the capital of ${c.ref}?`,
    (c) => `Which city is the capital of ${c.ref}?`,
    (c) => `What is the capital city of ${c.ref}?`,
    (c) => `Name the capital of ${c.ref}.`,
  ],
  currency: [(c) => `What is the currency of ${c.ref}?`, (c) => `Which currency is used in ${c.ref}?`, (c) => `What currency does ${c.ref} use?`],
  continent: [(c) => `On which continent is ${c.ref}?`, (c) => `Which continent is ${c.ref} in?`, (c) => `${c.Ref} is located on which continent?`],
  language: [
    (c) => `What language is spoken in ${c.ref}?`,
    (c) => `Which language do people speak in ${c.ref}?`,
    (c) => `What is the main language of ${c.ref}?`,
  ],
};

/** Question/answer layouts: `Q: …\nA: …` is the canonical one. */
export const QA_LAYOUTS: readonly { prefixQ: string; prefixA: string }[] = [
  { prefixQ: 'Q: ', prefixA: 'A: ' },
  { prefixQ: 'Question: ', prefixA: 'Answer: ' },
  { prefixQ: 'Q: ', prefixA: 'A: ' },
];

export function drawFactQuestion(rng: Rng, c: Country, task?: FactTask): FactQuestion {
  const t = task ?? rng.weighted<FactTask>(['capital', 'currency', 'continent', 'language'], [5, 2, 2, 2]);
  const wordings = QUESTION_WORDINGS[t];
  // The canonical wording half the time, so the query form is common but not the only one.
  const question = (rng.chance(0.5) ? wordings[0] : rng.pick(wordings))(c);
  for (const value of answerValues(t, c)) noteFact(c.name, t, value);
  return { task: t, country: c, question, answer: factAnswer(t, c) as string };
}

/** The values a (non-strict) answer states: each continent or language it lists. */
function answerValues(task: FactTask, c: Country): string[] {
  if (task === 'continent') return c.continents;
  if (task === 'language') return c.languages.slice(0, 3);
  return [factAnswer(task, c) as string];
}

/** "Q: What is the capital of France?\nA: Paris" in one of the layouts. */
export function formatPair(rng: Rng, q: { question: string; answer: string }): string {
  const layout = rng.chance(0.6) ? QA_LAYOUTS[0] : rng.pick(QA_LAYOUTS);
  return `${layout.prefixQ}${q.question}\n${layout.prefixA}${q.answer}`;
}

/** A reverse question: "Paris is the capital of which country?" */
export function reverseCapitalPair(rng: Rng, c: Country): string {
  noteFact(c.name, 'capital', c.capital);
  const q = rng.pick([`${c.capital} is the capital of which country?`, `Which country has ${c.capital} as its capital?`]);
  return `Q: ${q}\nA: ${c.name}`;
}
