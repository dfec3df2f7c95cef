/**
 * `wiki`: encyclopedic prose of real facts (countries-list, see facts.ts). Every fact is
 * written in several templates: country articles, capital-city stubs, lists by continent,
 * currency and language articles, and comparisons. Focus countries get articles in rotation,
 * so each of their facts appears in many documents with different wordings.
 */
import type { Rng } from '../rng';
import { fit } from './budget';
import { noteFact, pickDraft } from './labels';
import {
  BACKGROUND_COUNTRIES,
  CONTINENTS,
  COUNTRIES,
  type Country,
  FOCUS_COUNTRIES,
  capitalIsCountry,
  isTranscontinental,
  listJoin,
  mainCurrency,
} from './facts';

function continentPhrase(rng: Rng, c: Country): string {
  for (const k of c.continents) noteFact(c.name, 'continent', k);
  if (isTranscontinental(c)) {
    return rng.pick([`${c.Ref} is a transcontinental country spanning ${listJoin(c.continents)}.`, `${c.Ref} lies in both ${listJoin(c.continents)}.`]);
  }
  const place = c.focus ? rng.pick(['country', 'sovereign state', 'nation']) : rng.pick(['country or territory', 'place']);
  return rng.pick([
    `${c.Ref} is a ${place} in ${c.continent}.`,
    `${c.Ref} is located in ${c.continent}.`,
    `${c.Ref} lies in ${c.continent}.`,
    `${c.Ref} is one of the countries of ${c.continent}.`,
    `Located in ${c.continent}, ${c.ref} is a ${place}.`,
  ]);
}

function intro(rng: Rng, c: Country): string {
  if (c.native !== undefined && rng.chance(0.4)) {
    const base = continentPhrase(rng, c);
    return base.startsWith(c.Ref) ? `${c.Ref} (${c.native})${base.slice(c.Ref.length)}` : base;
  }
  return continentPhrase(rng, c);
}

export function capitalSentence(rng: Rng, c: Country, pronoun: boolean): string {
  noteFact(c.name, 'capital', c.capital);
  if (capitalIsCountry(c)) return `Its capital is the city of ${c.capital}.`;
  const options = [
    `The capital of ${c.ref} is ${c.capital}.`,
    `${c.capital} is the capital of ${c.ref}.`,
    `${c.Ref}'s capital is ${c.capital}.`,
    `${c.Ref} has its capital at ${c.capital}.`,
    `The capital city of ${c.ref} is ${c.capital}.`,
  ];
  if (pronoun) options.push(`Its capital is ${c.capital}.`, `Its capital city is ${c.capital}.`, `The capital is ${c.capital}.`);
  return rng.pick(options);
}

export function currencySentence(rng: Rng, c: Country, pronoun: boolean): string {
  if (c.currencies.length > 1) {
    for (const x of c.currencies.slice(0, 3)) noteFact(c.name, 'currency', x.name);
    const names = c.currencies.slice(0, 3).map((x) => `the ${x.name} (${x.code})`);
    return rng.pick([`${c.Ref} uses ${listJoin(names)}.`, `Currencies used in ${c.ref} include ${listJoin(names)}.`]);
  }
  const cur = mainCurrency(c);
  noteFact(c.name, 'currency', cur.name);
  const options = [
    `The currency of ${c.ref} is the ${cur.name} (${cur.code}).`,
    `${c.Ref} uses the ${cur.name} as its currency.`,
    `The official currency of ${c.ref} is the ${cur.name}.`,
    `In ${c.ref}, people pay with the ${cur.name}.`,
    `The ${cur.name}, with the ISO 4217 code ${cur.code}, is the currency of ${c.ref}.`,
  ];
  if (pronoun) options.push(`Its currency is the ${cur.name}.`, `Its currency is the ${cur.name}, code ${cur.code}.`);
  return rng.pick(options);
}

export function languageSentence(rng: Rng, c: Country, pronoun: boolean): string {
  const langs = c.languages.slice(0, 4);
  for (const l of langs) noteFact(c.name, 'language', l);
  if (langs.length > 1) {
    return rng.pick([
      `Languages spoken in ${c.ref} include ${listJoin(langs)}.`,
      `People in ${c.ref} speak ${listJoin(langs)}.`,
      `The languages of ${c.ref} are ${listJoin(langs)}.`,
    ]);
  }
  const l = langs[0];
  const options = [
    `The main language of ${c.ref} is ${l}.`,
    `People in ${c.ref} speak ${l}.`,
    `${l} is the language spoken in ${c.ref}.`,
    `The language of ${c.ref} is ${l}.`,
  ];
  if (pronoun) options.push(`Its main language is ${l}.`, `Most people there speak ${l}.`);
  return rng.pick(options);
}

function phoneSentence(rng: Rng, c: Country): string {
  const p = c.phone[0];
  noteFact(c.name, 'calling-code', `+${p}`);
  return rng.pick([
    `The international calling code of ${c.ref} is +${p}.`,
    `Telephone numbers in ${c.ref} start with the country code +${p}.`,
    `Its calling code is +${p}.`,
  ]);
}

/** An article about a country: intro plus a varied selection of its facts. */
function countryArticle(rng: Rng, c: Country): string {
  const title = rng.chance(0.5) ? `${c.name}\n\n` : '';
  if (rng.chance(0.2) && c.currencies.length === 1 && !isTranscontinental(c) && !capitalIsCountry(c)) {
    // The combined one-sentence summary.
    const cur = mainCurrency(c);
    noteFact(c.name, 'capital', c.capital);
    noteFact(c.name, 'continent', c.continent);
    noteFact(c.name, 'currency', cur.name);
    const lead = rng.pick([
      `${c.Ref}, a country in ${c.continent}, has its capital at ${c.capital}; its currency is the ${cur.name}.`,
      `${c.capital} is the capital of ${c.ref}, a country in ${c.continent} whose currency is the ${cur.name}.`,
    ]);
    return `${title}${lead} ${languageSentence(rng, c, true)} ${phoneSentence(rng, c)}`;
  }
  const facts = [
    (p: boolean) => capitalSentence(rng, c, p),
    (p: boolean) => currencySentence(rng, c, p),
    (p: boolean) => languageSentence(rng, c, p),
    () => phoneSentence(rng, c),
  ];
  // Always the capital; usually the currency and the language; sometimes the calling code.
  let rest = facts.slice(1).filter((_, i) => rng.chance([0.8, 0.8, 0.35][i]));
  if (rest.length === 0) rest = [rng.pick(facts.slice(1, 3))];
  rest = rng.shuffle(rest);
  const order = rng.chance(0.7) ? [facts[0], ...rest] : rng.shuffle([facts[0], ...rest]);
  const sentences = [intro(rng, c), ...order.map((f) => f(true))];
  return title + sentences.join(' ');
}

/** A stub about the capital city. */
function capitalArticle(rng: Rng, c: Country): string {
  if (capitalIsCountry(c)) return countryArticle(rng, c);
  const cur = mainCurrency(c);
  noteFact(c.name, 'capital', c.capital);
  const continent = () => noteFact(c.name, 'continent', c.continent);
  const first = pickDraft(
    (xs) => rng.pick(xs),
    [
      () => `${c.capital} is the capital of ${c.ref}.`,
      () => {
        continent();
        return `${c.capital} is the capital city of ${c.ref}, in ${c.continent}.`;
      },
      () => `${c.capital} serves as the capital of ${c.ref}.`,
    ],
  );
  const more = rng
    .shuffle([
      () => `As the capital, ${c.capital} is home to the national government of ${c.ref}.`,
      () => {
        noteFact(c.name, 'currency', cur.name);
        return `Visitors to ${c.capital} pay with the ${cur.name}, the currency of ${c.ref}.`;
      },
      () => {
        continent();
        return `${c.Ref} is in ${c.continent}.`;
      },
      () => `The city is the political centre of ${c.ref}.`,
    ])
    .slice(0, 2)
    .map((sentence) => sentence());
  return `${c.capital}\n\n${first} ${more.join(' ')}`;
}

function pickCountries(rng: Rng, pool: readonly Country[], k: number): Country[] {
  return rng.sample(pool, k);
}

/** "Countries of Africa": a list with capitals (and sometimes currencies). */
function continentList(rng: Rng): string {
  const cont = rng.pick(CONTINENTS);
  const pool = COUNTRIES.filter((c) => c.continent === cont);
  const focus = pool.filter((c) => c.focus);
  const chosen = rng.shuffle([...pickCountries(rng, focus, rng.int(3, 5)), ...pickCountries(rng, pool, rng.int(1, 3))]);
  const unique = chosen.filter((c, i) => chosen.indexOf(c) === i).slice(0, 6);
  const style = rng.int(0, 2);
  const head = rng.pick([`Countries of ${cont}`, `Capitals in ${cont}`, `List of countries in ${cont}`]);
  const lines = unique.map((c) => {
    noteFact(c.name, 'continent', cont);
    noteFact(c.name, 'capital', c.capital);
    if (style === 1) noteFact(c.name, 'currency', mainCurrency(c).name);
    if (style === 0) return `- ${c.name}: ${c.capital}`;
    if (style === 1) return `- ${c.name} (capital: ${c.capital}; currency: ${mainCurrency(c).name})`;
    return `* ${c.capital}, capital of ${c.ref}`;
  });
  const lead = rng.pick([
    `The following countries are in ${cont}, listed with their capitals.`,
    `This list gives some countries of ${cont} and their capital cities.`,
    `${cont} includes these countries:`,
  ]);
  return `${head}\n\n${lead}\n${lines.join('\n')}`;
}

/** A currency article: which countries use it. */
function currencyArticle(rng: Rng): string {
  const c = rng.pick(FOCUS_COUNTRIES);
  const cur = mainCurrency(c);
  const users = COUNTRIES.filter((x) => x.currencies[0].code === cur.code);
  const named =
    users.length > 6
      ? rng.sample(
          users.filter((x) => x.focus || rng.chance(0.3)),
          6,
        )
      : users;
  const names = named.map((x) => x.ref);
  if (!names.includes(c.name)) names.unshift(c.name);
  for (const x of new Set([c, ...named])) noteFact(x.name, 'currency', cur.name);
  const where = names.length === 1 ? `the currency of ${names[0]}` : `used in ${listJoin(names)}`;
  const first = rng.pick([`The ${cur.name} (${cur.code}) is ${where}.`, `${cur.name}\n\nThe ${cur.name}, ISO 4217 code ${cur.code}, is ${where}.`]);
  const extra = names.length > 1 ? ` It is shared by ${names.length} of the countries listed here.` : ` Prices in ${c.ref} are quoted in ${cur.code}.`;
  return first + extra;
}

/** A language article: where it is spoken. */
function languageArticle(rng: Rng): string {
  const c = rng.pick(FOCUS_COUNTRIES);
  const lang = c.languages[0];
  const speakers = COUNTRIES.filter((x) => x.languages.includes(lang));
  const named = rng.sample(
    speakers.filter((x) => x.focus),
    6,
  );
  if (!named.includes(c)) named.unshift(c);
  for (const x of named) noteFact(x.name, 'language', lang);
  const names = named.map((x) => x.ref);
  return rng.pick([
    `${lang}\n\n${lang} is a language spoken in ${listJoin(names)}.`,
    `${lang} is spoken in ${listJoin(names)}. In ${c.ref}, ${lang} is one of the main languages.`,
    `The ${lang} language\n\nCountries where people speak ${lang} include ${listJoin(names)}.`,
  ]);
}

/** Two countries side by side. */
function comparison(rng: Rng): string {
  const [a, b] = rng.sample(FOCUS_COUNTRIES, 2);
  return pickDraft(
    (xs) => rng.pick(xs),
    [
      () =>
        `${a.name} and ${b.name}\n\n${capitalSentence(rng, a, false)} ${capitalSentence(rng, b, false)} ${currencySentence(rng, a, false)} ${currencySentence(rng, b, false)}`,
      () => {
        for (const x of [a, b]) {
          noteFact(x.name, 'capital', x.capital);
          noteFact(x.name, 'continent', x.continent);
        }
        return `The capital of ${a.ref} is ${a.capital}, while the capital of ${b.ref} is ${b.capital}. ${a.Ref} is in ${a.continent} and ${b.ref} is in ${b.continent}.`;
      },
      () => {
        for (const x of [a, b]) noteFact(x.name, 'currency', mainCurrency(x).name);
        return `Unlike ${a.ref}, whose currency is the ${mainCurrency(a).name}, ${b.ref} uses the ${mainCurrency(b).name}. ${capitalSentence(rng, b, false)}`;
      },
    ],
  );
}

/** `n` wiki documents. Focus countries rotate through articles so their facts repeat often. */
export function generateWiki(rng: Rng, n: number): string[] {
  const out: string[] = [];
  let focusQueue: Country[] = [];
  let backgroundQueue: Country[] = [];
  const nextFocus = () => {
    if (focusQueue.length === 0) focusQueue = rng.shuffle(FOCUS_COUNTRIES);
    return focusQueue.pop() as Country;
  };
  const nextBackground = () => {
    if (backgroundQueue.length === 0) backgroundQueue = rng.shuffle(BACKGROUND_COUNTRIES);
    return backgroundQueue.pop() as Country;
  };
  for (let i = 0; i < n; i++) {
    const kind = rng.weighted(['focus', 'capital', 'background', 'continent', 'currency', 'language', 'compare'], [42, 10, 20, 10, 6, 5, 7]);
    // The country is chosen once, so retries for length keep the rotation intact.
    const country = kind === 'focus' || kind === 'capital' ? nextFocus() : kind === 'background' ? nextBackground() : undefined;
    out.push(
      fit(() => {
        switch (kind) {
          case 'focus':
          case 'background':
            return countryArticle(rng, country as Country);
          case 'capital':
            return capitalArticle(rng, country as Country);
          case 'continent':
            return continentList(rng);
          case 'currency':
            return currencyArticle(rng);
          case 'language':
            return languageArticle(rng);
          default:
            return comparison(rng);
        }
      }),
    );
  }
  return out;
}
