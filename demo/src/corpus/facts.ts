/**
 * Real facts for the `wiki` source (and the quiz pages of `qa` and `web`): countries with their
 * capitals, continents, currencies, languages and calling codes, from the npm package
 * countries-list (MIT, © Annexare Studio; https://github.com/annexare/Countries).
 *
 * FOCUS countries are well-known sovereign states whose facts the corpus repeats often (and
 * which the factual demo queries ask about); every other entry of the dataset with a capital
 * appears a few times as background.
 */
import { continents, countries, languages } from 'countries-list';
import { currencies } from 'countries-list/currencies';

export const FACTS_DATASET = 'countries-list@3.4.1 (MIT License, Copyright (c) 2014 Annexare Studio)';

export interface Currency {
  code: string;
  name: string;
}

export interface Country {
  /** ISO 3166-1 alpha-2. */
  code: string;
  name: string;
  /** The name as used inside a sentence: "the Netherlands", "France". */
  ref: string;
  /** The name at the start of a sentence: "The Netherlands", "France". */
  Ref: string;
  capital: string;
  /** Main continent, in English. */
  continent: string;
  /** Every continent, for transcontinental countries (else just the main one). */
  continents: string[];
  currencies: Currency[];
  languages: string[];
  phone: number[];
  /** Native name, when it differs from the English one and is written in Latin script. */
  native?: string;
  focus: boolean;
}

/** Well-known sovereign states, repeated often in the corpus. */
export const FOCUS_CODES: readonly string[] = [
  // Europe
  'FR',
  'DE',
  'IT',
  'ES',
  'PT',
  'GB',
  'IE',
  'NL',
  'BE',
  'AT',
  'CH',
  'SE',
  'NO',
  'DK',
  'FI',
  'PL',
  'CZ',
  'HU',
  'GR',
  'RO',
  'UA',
  'IS',
  'HR',
  'RS',
  // Asia
  'JP',
  'CN',
  'IN',
  'KR',
  'TH',
  'VN',
  'ID',
  'PH',
  'MY',
  'PK',
  'BD',
  'IR',
  'IQ',
  'SA',
  'NP',
  'MN',
  'RU',
  'TR',
  // Africa
  'EG',
  'KE',
  'NG',
  'GH',
  'ET',
  'MA',
  'DZ',
  'TN',
  'SN',
  'UG',
  // Americas
  'US',
  'CA',
  'MX',
  'CU',
  'JM',
  'GT',
  'BR',
  'AR',
  'CL',
  'PE',
  'CO',
  'VE',
  'UY',
  // Oceania
  'AU',
  'NZ',
  'FJ',
];

function languageName(code: string): string {
  const name = (languages as Record<string, { name: string }>)[code]?.name ?? code;
  // "Tagalog / Filipino" → "Filipino"
  const parts = name.split(' / ');
  return parts[parts.length - 1];
}

/** Names that take "the" in running text. */
function needsArticle(name: string): boolean {
  return (
    /\b(Islands|Republic|Kingdom|States|Emirates)\b/.test(name) ||
    /^(Netherlands|Philippines|Bahamas|Gambia|Comoros|Maldives|Seychelles|Democratic Republic of the Congo)$/.test(name)
  );
}

const LATIN = /^[\p{Script=Latin}\s'.-]+$/u;

function buildCountries(): Country[] {
  const focus = new Set(FOCUS_CODES);
  const out: Country[] = [];
  const table = countries as Record<string, (typeof countries)[keyof typeof countries]>;
  const continentNames = continents as Record<string, string>;
  const currencyTable = currencies as Record<string, { name: string } | undefined>;
  for (const code of Object.keys(table).sort()) {
    const c = table[code];
    if (c.partOf !== undefined || c.userAssigned === true) continue;
    if (c.capital === '' || c.continent === 'AN') continue;
    const curr = c.currency
      .map((k) => ({ code: k, name: currencyTable[k]?.name ?? '' }))
      .filter((x) => x.name !== '')
      // Fund codes (USN, BOV, CHE, ...) are not what people pay with.
      .filter((x) => !/\b(Fund|Unidad|Unidades|Next day|WIR|Mexican Investment|Indexed|Unit of Account)\b/i.test(x.name));
    if (curr.length === 0) continue;
    const country: Country = {
      code,
      name: c.name,
      ref: needsArticle(c.name) ? `the ${c.name}` : c.name,
      Ref: needsArticle(c.name) ? `The ${c.name}` : c.name,
      capital: c.capital,
      continent: continentNames[c.continent],
      continents: (c.continents ?? [c.continent]).map((k) => continentNames[k]),
      currencies: curr,
      languages: c.languages.map(languageName),
      phone: c.phone,
      focus: focus.has(code),
    };
    if (c.native !== c.name && LATIN.test(c.native)) country.native = c.native;
    out.push(country);
  }
  for (const code of FOCUS_CODES) {
    if (!out.some((c) => c.code === code)) throw new Error(`focus country ${code} missing from countries-list`);
  }
  return out;
}

export const COUNTRIES: readonly Country[] = buildCountries();
export const FOCUS_COUNTRIES: readonly Country[] = FOCUS_CODES.map((code) => COUNTRIES.find((c) => c.code === code) as Country);
export const BACKGROUND_COUNTRIES: readonly Country[] = COUNTRIES.filter((c) => !c.focus);
export const CONTINENTS: readonly string[] = [...new Set(COUNTRIES.map((c) => c.continent))].sort();

export function countryByCode(code: string): Country {
  const c = COUNTRIES.find((x) => x.code === code);
  if (c === undefined) throw new Error(`unknown country ${code}`);
  return c;
}

/** The main currency (the first one the dataset lists). */
export function mainCurrency(c: Country): Currency {
  return c.currencies[0];
}

export function isTranscontinental(c: Country): boolean {
  return c.continents.length > 1;
}

/** "A", "A and B", "A, B and C" */
export function listJoin(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** Capitals that are also the name of their country (Singapore, Monaco, ...) read oddly in some templates. */
export function capitalIsCountry(c: Country): boolean {
  return c.capital === c.name;
}
