/**
 * `qa`: StackExchange-style threads (title, tags, question, answers with votes) about
 * programming, math (slopes, linear equations, order of operations, percentages) and
 * geography (capitals, currencies, languages, and trivia threads of Q/A pairs).
 */
import type { Rng } from '../rng';
import { fit } from './budget';
import { COUNTRIES, type Country, FOCUS_COUNTRIES, mainCurrency } from './facts';
import { arithmeticExpression, drawArithmetic, drawFresh, drawLinear, drawSlope, linearEquation, proseSolution, slopePoints, stepByStep } from './problems';
import { drawFactQuestion, formatPair, reverseCapitalPair } from './quiz';
import { noteFact, noteProcedure } from './labels';

const USERS = [
  'jdoe',
  'mathfan42',
  'pixel_pusher',
  'curious_cat',
  'algebrator',
  'node_ninja',
  'snakecharmer',
  'geo_nerd',
  'wanderer',
  'tutor_tim',
  'sam.k',
  'li_wei',
  'maria_g',
  'dev0ps',
];

interface Thread {
  title: string;
  tags: string[];
  question: string;
  answers: string[];
}

function render(rng: Rng, t: Thread): string {
  const qScore = rng.int(0, 40);
  const layout = rng.int(0, 1);
  const asker = rng.pick(USERS);
  const head =
    layout === 0
      ? `Title: ${t.title}\nTags: ${t.tags.join(', ')}\nQuestion (score ${qScore}, asked by ${asker}):\n${t.question}`
      : `${t.title}\n[${t.tags.join('] [')}] · ${qScore} votes\n\n${t.question}`;
  let votes = rng.int(3, 80);
  const answers = t.answers.map((a, i) => {
    const score = votes;
    votes = Math.max(0, Math.floor(votes / rng.int(2, 4)) - rng.int(0, 2));
    const accepted = i === 0 && rng.chance(0.7) ? ', accepted' : '';
    return layout === 0 ? `Answer (score ${score}${accepted}):\n${a}` : `${score} votes${accepted ? ' ✓' : ''} · answered by ${rng.pick(USERS)}\n${a}`;
  });
  return [head, ...answers].join('\n\n');
}

// ---------------------------------------------------------------- math threads

function slopeThread(rng: Rng, reserved: ReadonlySet<string>): Thread {
  const p = drawFresh(() => drawSlope(rng), reserved);
  const pts = slopePoints(p);
  noteProcedure('slopes', 'math');
  return {
    title: rng.pick(['How do I compute the slope between two points?', 'Slope of a line from two points', 'Getting a negative slope, is that right?']),
    tags: ['algebra', 'linear-functions'],
    question: rng.pick([
      `I have the points ${pts}. How do I find the slope of the line through them?`,
      `My homework asks for the slope of the line passing through the points ${pts}. I keep mixing up the order of subtraction.`,
    ]),
    answers: rng.pick([
      [`Use m = (y2 - y1) / (x2 - x1). ${proseSolution(rng, p)}`, 'The order does not matter as long as you use the same order on top and bottom.'],
      [`Step by step:\n${stepByStep(p)}`, 'Think of it as rise over run.'],
      [`Think of it as rise over run. ${proseSolution(rng, p)}`],
    ]),
  };
}

function linearThread(rng: Rng, reserved: ReadonlySet<string>): Thread {
  const p = drawFresh(() => drawLinear(rng), reserved);
  const eq = linearEquation(p);
  noteProcedure('linear', 'math');
  return {
    title: rng.pick([`How to solve ${eq}?`, 'Solving a linear equation for x', 'Steps to isolate x in a linear equation']),
    tags: ['algebra-precalculus', 'linear-equations'],
    question: `How do I solve for x in ${eq}? I know the answer should be a whole number but I am not sure about the steps.`,
    answers: [
      `Undo the operations in reverse order. ${proseSolution(rng, p)}`,
      rng.pick([
        `In general, a*x + b = c gives x = (c - b) / a.`,
        `Step by step:\n${stepByStep(p)}`,
        `Always check by substituting: ${p.a} * ${p.answer} ${p.op} ${p.b} = ${p.c}.`,
      ]),
    ],
  };
}

function orderThread(rng: Rng, reserved: ReadonlySet<string>): Thread {
  const p = drawFresh(() => drawArithmetic(rng, true), reserved);
  const expr = arithmeticExpression(p);
  const wrong = p.a + (p.op1 === '+' ? 1 : -1) * p.b * p.c;
  noteProcedure('arithmetic', 'math');
  return {
    title: rng.pick(['Order of operations with parentheses', `Why is ${expr} equal to ${p.answer}?`, 'Do I multiply first or do the parentheses first?']),
    tags: ['arithmetic', 'order-of-operations'],
    question: `I computed ${expr} and got ${wrong}, but the book says ${p.answer}. What did I do wrong?`,
    answers: [
      `Parentheses come first. ${proseSolution(rng, p)} You multiplied before doing the ${p.op1 === '+' ? 'addition' : 'subtraction'} inside the parentheses.`,
      `Remember PEMDAS: Parentheses, Exponents, Multiplication and Division, Addition and Subtraction.`,
    ],
  };
}

function percentThread(rng: Rng): Thread {
  const pct = rng.pick([10, 20, 25, 50]);
  const base = rng.int(2, 30) * 20;
  return {
    title: 'How to compute a percentage of a number',
    tags: ['arithmetic', 'percentages'],
    question: `What is ${pct}% of ${base}, and how do I do it in my head?`,
    answers: [`${pct}% means ${pct} per hundred, so multiply by ${pct}/100: ${base} * ${pct} / 100 = ${(base * pct) / 100}.`],
  };
}

// ---------------------------------------------------------------- programming threads

function programmingThread(rng: Rng, reserved: ReadonlySet<string>): Thread {
  const kind = rng.int(0, 6);
  switch (kind) {
    case 0:
      return {
        title: 'Why does [10, 9, 1].sort() give [1, 10, 9] in JavaScript?',
        tags: ['javascript', 'arrays', 'sorting'],
        question: 'Sorting numbers gives a strange order. How do I sort numerically?',
        answers: [
          'sort() converts the elements to strings by default. Pass a comparator:\n\nnums.sort((a, b) => a - b);',
          'Use a copy if you need the original: [...nums].sort((a, b) => a - b).',
        ],
      };
    case 1: {
      const a = rng.int(7, 30);
      const b = rng.int(2, 6);
      return {
        title: 'Difference between / and // in Python 3',
        tags: ['python', 'division'],
        question: `Why does ${a} / ${b} print a float and ${a} // ${b} print an integer?`,
        answers: [
          `In Python 3, / is true division and always returns a float: ${a} / ${b} = ${Number.isInteger(a / b) ? (a / b).toFixed(1) : String(a / b)}. // is floor division: ${a} // ${b} = ${Math.floor(a / b)}.`,
        ],
      };
    }
    case 2:
      return {
        title: 'How do I reverse a string in Python?',
        tags: ['python', 'string'],
        question: 'Is there a built-in reverse method for str?',
        answers: ['Use slicing with a negative step: s[::-1].', 'Or "".join(reversed(s)), which is more readable for some people.'],
      };
    case 3:
      return {
        title: 'What is the difference between == and === in JavaScript?',
        tags: ['javascript', 'comparison'],
        question: "Why is 0 == '' true but 0 === '' false?",
        answers: [
          '== converts both sides to a common type before comparing; === compares without conversion, so values of different types are never equal. Prefer ===.',
        ],
      };
    case 4: {
      const n = rng.int(3, 9);
      return {
        title: 'range() stops one early?',
        tags: ['python', 'loops'],
        question: `for i in range(${n}) never prints ${n}. Is this a bug?`,
        answers: [`range(${n}) yields 0 up to ${n - 1}; the stop value is excluded. Use range(1, ${n + 1}) to get 1 to ${n}.`],
      };
    }
    case 5: {
      const p = drawFresh(() => drawSlope(rng), reserved);
      noteProcedure('slopes', 'code');
      return {
        title: 'Function to compute slope returns integer division result',
        tags: ['python', 'math'],
        question: `My slope function returns the wrong value in old Python 2 code for the points ${slopePoints(p)}.`,
        answers: [
          `In Python 2, / on two ints is floor division. In Python 3 (y2 - y1) / (x2 - x1) is true division; for your points it gives (${p.y2} - ${p.y1}) / (${p.x2} - ${p.x1}) = ${p.answer}.0.`,
        ],
      };
    }
    default:
      return {
        title: 'Parse a string to an integer in JavaScript',
        tags: ['javascript', 'parsing'],
        question: "What is the best way to turn '42' into the number 42?",
        answers: ["Number('42') or parseInt('42', 10). Always pass the radix to parseInt.", 'The unary plus works too: +"42" === 42.'],
      };
  }
}

// ---------------------------------------------------------------- geography threads

function geographyThread(rng: Rng): Thread {
  const c: Country = rng.chance(0.85) ? rng.pick(FOCUS_COUNTRIES) : rng.pick(COUNTRIES);
  const kind = rng.int(0, 3);
  if (kind === 0) {
    const big = c.capital;
    noteFact(c.name, 'capital', c.capital);
    return {
      title: `Is ${big} the capital of ${c.ref}?`,
      tags: ['geography', 'capitals'],
      question: `A friend says the capital of ${c.ref} is not ${big}. Who is right?`,
      answers: [`Yes, ${big} is the capital of ${c.ref}.`, `The capital of ${c.ref} is ${big}; many people confuse capitals with the largest cities.`],
    };
  }
  if (kind === 1) {
    const cur = mainCurrency(c);
    noteFact(c.name, 'currency', cur.name);
    return {
      title: `Which currency should I bring to ${c.ref}?`,
      tags: ['travel', 'money', c.name.toLowerCase().replace(/\s+/g, '-')],
      question: `I am travelling to ${c.capital} next month. What is the currency of ${c.ref}?`,
      answers: [`The currency of ${c.ref} is the ${cur.name} (${cur.code}).`, `${c.Ref} uses the ${cur.name}. Card payments are common in ${c.capital}.`],
    };
  }
  if (kind === 2) {
    const q = drawFactQuestion(rng, c, 'language');
    return {
      title: `What language do they speak in ${c.ref}?`,
      tags: ['travel', 'language'],
      question: `${q.question} I want to learn a few phrases before my trip.`,
      answers: [`${q.answer}. Learning a few greetings always helps.`],
    };
  }
  // A trivia thread: a handful of Q/A pairs.
  const pairs: string[] = [];
  const n = rng.int(3, 5);
  for (let i = 0; i < n; i++) {
    const cc = rng.chance(0.85) ? rng.pick(FOCUS_COUNTRIES) : rng.pick(COUNTRIES);
    pairs.push(rng.chance(0.15) ? reverseCapitalPair(rng, cc) : formatPair(rng, drawFactQuestion(rng, cc)));
  }
  return {
    title: rng.pick(['Geography trivia questions for a pub quiz', 'Good questions for a geography quiz?', 'Share your favourite capital-city questions']),
    tags: ['geography', 'trivia'],
    question: 'I am preparing a quiz night. Please share questions with answers.',
    answers: [pairs.join('\n\n')],
  };
}

export function generateQa(rng: Rng, n: number, reserved: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const kind = rng.weighted(['slope', 'linear', 'order', 'percent', 'programming', 'geography'], [10, 10, 10, 4, 32, 34]);
    const make = (): Thread => {
      if (kind === 'slope') return slopeThread(rng, reserved);
      if (kind === 'linear') return linearThread(rng, reserved);
      if (kind === 'order') return orderThread(rng, reserved);
      if (kind === 'percent') return percentThread(rng);
      if (kind === 'programming') return programmingThread(rng, reserved);
      return geographyThread(rng);
    };
    out.push(fit(() => render(rng, make())));
  }
  return out;
}
