/**
 * `web`: other prose — short stories, news-like snippets, recipes, product reviews, travel
 * blog posts (which mention real capitals and currencies in passing), trivia quiz pages,
 * "repeat after me" drills and short reading-comprehension passages about invented places and
 * numbers (the forms the demo's control queries take: answerable from the prompt alone).
 */
import type { Rng } from '../rng';
import { fit } from './budget';
import { COUNTRIES, FOCUS_COUNTRIES, mainCurrency } from './facts';
import { arithmeticExpression, drawArithmetic, drawFresh } from './problems';
import { drawFactQuestion, formatPair, reverseCapitalPair } from './quiz';
import { noteFact, noteProcedure, pickDraft } from './labels';

const NAMES = ['Lily', 'Max', 'Mia', 'Leo', 'Ava', 'Sam', 'Zoe', 'Ben', 'Ella', 'Noah', 'Ruby', 'Finn', 'Nora', 'Omar', 'Ivy', 'Jack'];
const ANIMALS = ['cat', 'dog', 'rabbit', 'fox', 'bird', 'turtle', 'puppy', 'kitten', 'duck', 'frog'];
const OBJECTS = ['ball', 'kite', 'red hat', 'little boat', 'blue box', 'shiny stone', 'book', 'drum', 'balloon', 'toy car'];
const PLACES = ['park', 'garden', 'beach', 'forest', 'river', 'hill', 'market', 'school yard'];
const FEELINGS = ['happy', 'sad', 'brave', 'tired', 'curious', 'excited', 'scared', 'proud'];

const ADJECTIVES = ['red', 'green', 'quiet', 'old', 'small', 'bright', 'heavy', 'gentle', 'yellow', 'tall', 'cold', 'busy'];
const NOUNS = ['kite', 'boat', 'train', 'lamp', 'horse', 'clock', 'river', 'garden', 'window', 'baker', 'singer', 'letter'];
const VERBS = ['flew over', 'sailed past', 'rolled under', 'waited by', 'shone on', 'ran across', 'stood near', 'jumped over'];
const SECOND = ['the hill', 'the pier', 'the bridge', 'the old wall', 'the station', 'the market', 'the sleeping dog', 'the gate'];

/** A short sentence for "repeat after me" drills (the control queries use the same grammar). */
export function drillSentence(rng: Rng): string {
  return `The ${rng.pick(ADJECTIVES)} ${rng.pick(NOUNS)} ${rng.pick(VERBS)} ${rng.pick(SECOND)}.`;
}

const SYLLABLES = ['val', 'mor', 'ka', 'ri', 'del', 'ten', 'bra', 'lo', 'sun', 'mar', 've', 'tor', 'qui', 'ne', 'sal', 'dor'];

function inventedName(rng: Rng, syllables: number): string {
  let s = '';
  for (let i = 0; i < syllables; i++) s += rng.pick(SYLLABLES);
  return s[0].toUpperCase() + s.slice(1);
}

function story(rng: Rng): string {
  const name = rng.pick(NAMES);
  const friend = rng.pick(NAMES.filter((n) => n !== name));
  const animal = rng.pick(ANIMALS);
  const obj = rng.pick(OBJECTS);
  const place = rng.pick(PLACES);
  const feel = rng.pick(FEELINGS);
  return rng.pick([
    `Once upon a time, there was a little ${animal} named ${name}. ${name} loved to play in the ${place}. One day, ${name} found a ${obj} under a tree. "Look what I found!" said ${name}. ${friend} came to see it, and they played with the ${obj} all afternoon. When the sun went down, ${name} felt ${feel} and went home to sleep.`,
    `${name} and ${friend} went to the ${place} with a ${obj}. The wind was strong, and the ${obj} got stuck in a bush. ${friend} was ${feel}, but ${name} had an idea. They asked a kind ${animal} for help. Together they got the ${obj} back. From that day on, they always shared their toys.`,
    `It was a rainy day, and ${name} could not go to the ${place}. ${name} felt ${feel}. Mom said, "Let's build a fort inside!" They used pillows and a blanket. ${name} brought a ${obj} and a toy ${animal} into the fort. It was the best rainy day ever.`,
  ]);
}

function news(rng: Rng): string {
  const team1 = `${rng.pick(['River', 'North', 'City', 'Harbor', 'Valley'])} ${rng.pick(['Rovers', 'United', 'Hawks', 'Lions', 'Stars'])}`;
  const team2 = `${rng.pick(['East', 'Lake', 'Park', 'Hill', 'Bay'])} ${rng.pick(['Rangers', 'Athletic', 'Eagles', 'Wolves', 'Comets'])}`;
  const s1 = rng.int(0, 5);
  const s2 = rng.int(0, 5);
  const temp = rng.int(-5, 32);
  const day = rng.pick(['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday']);
  return rng.pick([
    `${team1} ${s1 > s2 ? 'beat' : s1 < s2 ? 'lost to' : 'drew with'} ${team2} ${s1}-${s2} on ${day}. ${rng.pick(NAMES)} scored ${s1 > 0 ? 'the opening goal' : 'nothing'} for the home side, and the coach said the team "worked hard for every ball". The next match is in ${rng.int(3, 14)} days.`,
    `Weather for ${day}: ${rng.pick(['sunny', 'cloudy', 'light rain', 'windy', 'snow showers'])} with a high of ${temp} degrees and a low of ${temp - rng.int(3, 10)}. ${rng.pick(['Bring an umbrella.', 'A good day for a walk.', 'Roads may be slippery in the morning.'])}`,
    `The town library will open a new reading room on ${day}. The room has ${rng.int(20, 90)} seats and ${rng.int(2, 12)} computers. Librarian ${rng.pick(NAMES)} said the space is "for everyone who loves books".`,
    `Local bakery celebrates ${rng.int(5, 60)} years. The owners, the ${rng.pick(['Miller', 'Baker', 'Rossi', 'Novak', 'Silva'])} family, baked ${rng.int(100, 900)} free rolls for visitors on ${day}.`,
  ]);
}

function recipe(rng: Rng): string {
  const dish = rng.pick(['Pancakes', 'Tomato soup', 'Banana bread', 'Fried rice', 'Lemon cookies', 'Vegetable curry']);
  const serves = rng.int(2, 6);
  const a = rng.int(1, 4);
  const b = rng.int(100, 500);
  return `${dish} (serves ${serves})\n\nIngredients:\n- ${a} cups of flour or rice\n- ${b} g of ${rng.pick(['tomatoes', 'bananas', 'vegetables', 'sugar', 'milk'])}\n- ${rng.int(1, 3)} eggs\n- a pinch of salt\n\nSteps:\n1. Prepare all the ingredients.\n2. Mix or chop them, then cook for ${rng.int(10, 45)} minutes.\n3. Let it rest for ${rng.int(2, 10)} minutes and serve warm.`;
}

function review(rng: Rng): string {
  const product = rng.pick(['wireless headphones', 'coffee grinder', 'running shoes', 'desk lamp', 'backpack', 'electric kettle', 'phone case']);
  const stars = rng.int(1, 5);
  const good = rng.pick(['works great', 'feels solid', 'is easy to use', 'looks nice', 'arrived quickly']);
  const bad = rng.pick(['the battery is weak', 'it is a bit loud', 'the strap broke after a month', 'the instructions are confusing', 'it is overpriced']);
  return `${stars}/5 stars - ${product}\n\n${stars >= 4 ? `Really happy with it. It ${good}.` : `Mixed feelings. It ${good}, but ${bad}.`} I have used it for ${rng.int(1, 12)} ${rng.pick(['weeks', 'months'])}. ${stars >= 3 ? 'Would buy again.' : 'Would not recommend.'}`;
}

function travel(rng: Rng): string {
  const c = rng.pick(FOCUS_COUNTRIES);
  const cur = mainCurrency(c);
  const days = rng.int(3, 14);
  // Every post names the capital and the currency; the first the language, the last the continent.
  noteFact(c.name, 'capital', c.capital);
  noteFact(c.name, 'currency', cur.name);
  return pickDraft(
    (xs) => rng.pick(xs),
    [
      () => {
        if (c.languages.length === 1) noteFact(c.name, 'language', c.languages[0]);
        return `Our ${days} days in ${c.ref}\n\nWe landed in ${c.capital}, the capital of ${c.ref}, on a ${rng.pick(['sunny', 'rainy', 'windy'])} morning. The first thing we did was change money into the ${cur.name}. ${c.languages.length === 1 ? `Everyone spoke ${c.languages[0]}, and we learned a few words.` : 'We heard several languages on the street.'} ${c.Ref} is a wonderful place to visit.`;
      },
      () =>
        `Travel tip: when you visit ${c.capital}, bring some ${cur.name} in cash. ${c.capital} is the capital of ${c.ref}, and small shops there do not always take cards.`,
      () => {
        noteFact(c.name, 'continent', c.continent);
        return `${rng.pick(NAMES)} writes: I just got back from ${c.ref}! ${c.capital} was my favourite city. Prices are in ${cur.code} (the ${cur.name}). Next year I want to see more of ${c.continent}.`;
      },
    ],
  );
}

function triviaPage(rng: Rng): string {
  const n = rng.int(4, 7);
  const pairs: string[] = [];
  for (let i = 0; i < n; i++) {
    const c = rng.chance(0.85) ? rng.pick(FOCUS_COUNTRIES) : rng.pick(COUNTRIES);
    pairs.push(rng.chance(0.12) ? reverseCapitalPair(rng, c) : formatPair(rng, drawFactQuestion(rng, c)));
  }
  const head = rng.pick(['Geography quiz', 'World capitals quiz', 'Trivia night: round 2', 'Test your knowledge of the world', 'Flashcards: countries']);
  return `${head}\n\n${pairs.join('\n\n')}`;
}

function drill(rng: Rng, reserved: ReadonlySet<string>): string {
  const lines: string[] = [];
  const n = rng.int(1, 3);
  for (let i = 0; i < n; i++) {
    let s = drillSentence(rng);
    while (reserved.has(`sentence:${s}`)) s = drillSentence(rng);
    lines.push(`Repeat after me: ${s}\n${s}`);
  }
  const head = rng.pick(['Speaking practice', 'Pronunciation drill', 'Listen and repeat', '']);
  return (head === '' ? '' : `${head}\n\n`) + lines.join('\n\n');
}

/** A passage that contains its own answer (invented places, given numbers). */
function reading(rng: Rng, reserved: ReadonlySet<string>): string {
  const kind = rng.int(0, 2);
  let passage: string;
  let question: string;
  let answer: string;
  if (kind === 0) {
    const land = inventedName(rng, rng.int(2, 3));
    const city = inventedName(rng, 2);
    passage = rng.pick([`The capital of ${land} is ${city}.`, `${land} is an imaginary island kingdom. The capital of ${land} is ${city}, a port city.`]);
    question = `What is the capital of ${land}?`;
    answer = city;
  } else if (kind === 1) {
    const p = drawFresh(() => drawArithmetic(rng, true), reserved);
    const expr = arithmeticExpression(p);
    passage = `The result of ${expr} is ${p.answer}.`;
    noteProcedure('arithmetic', 'math', { steps: false });
    question = `What is the result of ${expr}?`;
    answer = String(p.answer);
  } else {
    const name = rng.pick(NAMES);
    const k = rng.int(2, 40);
    const thing = rng.pick(['apples', 'stamps', 'books', 'shells', 'pencils']);
    passage = `${name} has ${k} ${thing}.`;
    question = `How many ${thing} does ${name} have?`;
    answer = String(k);
  }
  return `Read the text and answer the question.\n\n${passage}\n\nQ: ${question}\nA: ${answer}`;
}

export function generateWeb(rng: Rng, n: number, reserved: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const kind = rng.weighted(['story', 'news', 'recipe', 'review', 'travel', 'trivia', 'drill', 'reading'], [22, 14, 8, 10, 12, 16, 8, 10]);
    out.push(
      fit(() => {
        if (kind === 'story') return story(rng);
        if (kind === 'news') return news(rng);
        if (kind === 'recipe') return recipe(rng);
        if (kind === 'review') return review(rng);
        if (kind === 'travel') return travel(rng);
        if (kind === 'trivia') return triviaPage(rng);
        if (kind === 'drill') return drill(rng, reserved);
        return reading(rng, reserved);
      }),
    );
  }
  return out;
}
