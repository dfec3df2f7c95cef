/**
 * `math`: worked solutions in prose and notation. The three reasoning task families appear in
 * the paper's prompt template followed by the step-by-step solution a completion should follow
 * ("First, 7 - 4 = 3. Then 3 * 7 = 21. The answer is 21."), in prose, in lessons and in
 * exercise lists; the rest is other school math (areas, percentages, sequences, averages, ...).
 */
import type { Rng } from '../rng';
import { fit } from './budget';
import { noteProcedure } from './labels';
import {
  type Problem,
  type ReasoningTask,
  arithmeticExpression,
  drawArithmetic,
  drawFresh,
  drawProblem,
  linearEquation,
  problemPrompt,
  proseSolution,
  slopePoints,
  stepByStep,
} from './problems';

function fresh(rng: Rng, task: ReasoningTask, reserved: ReadonlySet<string>): Problem {
  return drawFresh(() => drawProblem(rng, task), reserved);
}

/** The paper's template, then the canonical solution. */
function templated(rng: Rng, task: ReasoningTask, reserved: ReadonlySet<string>): string {
  noteProcedure(task, 'math');
  const p = fresh(rng, task, reserved);
  const doc = `${problemPrompt(p)}\n\n${stepByStep(p)}`;
  if (rng.chance(0.25)) {
    const q = fresh(rng, task, reserved);
    return `${doc}\n\n${problemPrompt(q)}\n\n${stepByStep(q)}`;
  }
  return doc;
}

function statement(p: Problem): string {
  switch (p.task) {
    case 'arithmetic':
      return `Evaluate ${arithmeticExpression(p)}.`;
    case 'slopes':
      return `Find the slope of the line through ${slopePoints(p)}.`;
    case 'linear':
      return `Solve ${linearEquation(p)} for x.`;
  }
}

/** "Example 3. … Solution: …" in prose or notation. */
function worked(rng: Rng, task: ReasoningTask, reserved: ReadonlySet<string>): string {
  noteProcedure(task, 'math');
  const count = rng.int(1, 2);
  const parts: string[] = [];
  for (let i = 0; i < count; i++) {
    const p = fresh(rng, task, reserved);
    const label = rng.pick([`Example ${rng.int(1, 9)}.`, 'Problem:', 'Exercise.', `${i + 1})`]);
    const sol = rng.pick(['Solution:', 'Answer:', 'Working:']);
    parts.push(`${label} ${statement(p)}\n${sol} ${proseSolution(rng, p)}`);
  }
  return parts.join('\n\n');
}

function lesson(rng: Rng, task: ReasoningTask, reserved: ReadonlySet<string>): string {
  noteProcedure(task, 'math');
  const p = fresh(rng, task, reserved);
  switch (task) {
    case 'arithmetic':
      return `Order of operations\n\nWhen an expression has parentheses, compute the part inside the parentheses first, then multiply or divide, and add or subtract last. ${rng.pick(['For example', 'Example', 'Consider this'])}: ${proseSolution(rng, p)}`;
    case 'slopes':
      return `How to find the slope of a line\n\nThe slope m of the line passing through two points (x1, y1) and (x2, y2) is m = (y2 - y1) / (x2 - x1): the change in y divided by the change in x. A positive slope rises to the right and a negative slope falls. ${rng.pick(['For example', 'Example'])}: ${proseSolution(rng, p)}`;
    case 'linear':
      return `Solving linear equations\n\nTo solve an equation like a*x + b = c, undo the operations in reverse order: first move the constant b to the other side, then divide by the coefficient a. So x = (c - b) / a. ${rng.pick(['For example', 'Example'])}: ${proseSolution(rng, p)}`;
  }
}

function exercises(rng: Rng, task: ReasoningTask, reserved: ReadonlySet<string>): string {
  // An answer key: results without the working.
  noteProcedure(task, 'math', { steps: false });
  const n = rng.int(3, 5);
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const p = fresh(rng, task, reserved);
    if (p.task === 'arithmetic') lines.push(`${i + 1}. ${arithmeticExpression(p)} = ${p.answer}`);
    else if (p.task === 'slopes') lines.push(`${i + 1}. through ${slopePoints(p)}: slope ${p.answer}`);
    else lines.push(`${i + 1}. ${linearEquation(p)}, so x = ${p.answer}`);
  }
  const head = rng.pick(['Practice problems with answers', 'Answer key', 'Homework solutions', 'Quick check']);
  return `${head}\n\n${lines.join('\n')}`;
}

// ---------------------------------------------------------------- other math

function otherMath(rng: Rng, reserved: ReadonlySet<string>): string {
  const kind = rng.int(0, 8);
  switch (kind) {
    case 0: {
      const w = rng.int(2, 20);
      const h = rng.int(2, 20);
      return rng.pick([
        `A rectangle is ${w} cm wide and ${h} cm tall. Its area is ${w} * ${h} = ${w * h} square centimetres and its perimeter is 2 * (${w} + ${h}) = ${2 * (w + h)} cm.`,
        `Area of a rectangle: A = width * height. With width ${w} and height ${h}, A = ${w * h}.`,
      ]);
    }
    case 1: {
      const b = rng.int(1, 10) * 2;
      const h = rng.int(2, 15);
      return `The area of a triangle is half the base times the height. For a base of ${b} and a height of ${h}: A = (1/2) * ${b} * ${h} = ${(b * h) / 2}.`;
    }
    case 2: {
      const pct = rng.pick([5, 10, 20, 25, 50, 75]);
      const base = rng.int(1, 40) * 20;
      const part = (pct * base) / 100;
      return rng.pick([
        `What is ${pct}% of ${base}? Write ${pct}% as ${pct}/100. Then ${pct}/100 * ${base} = ${part}. So ${pct}% of ${base} is ${part}.`,
        `A jacket costs $${base} and is on sale for ${pct}% off. The discount is ${part} dollars, so the sale price is ${base} - ${part} = ${base - part} dollars.`,
      ]);
    }
    case 3: {
      const a = rng.int(1, 20);
      const d = rng.int(2, 9);
      const terms = Array.from({ length: 5 }, (_, i) => a + i * d);
      return `The sequence ${terms.slice(0, 4).join(', ')}, ... is arithmetic with common difference ${d}. The next term is ${terms[3]} + ${d} = ${terms[4]}. The n-th term is ${a} + (n - 1) * ${d}.`;
    }
    case 4: {
      const xs = Array.from({ length: rng.int(3, 5) }, () => rng.int(1, 20));
      const total = xs.reduce((s, x) => s + x, 0);
      const padded = total % xs.length === 0 ? xs : [...xs.slice(0, -1), xs[xs.length - 1] + (xs.length - (total % xs.length))];
      const t2 = padded.reduce((s, x) => s + x, 0);
      return `To find the mean of ${padded.join(', ')}, add them and divide by how many there are: ${padded.join(' + ')} = ${t2}, and ${t2} / ${padded.length} = ${t2 / padded.length}. The mean is ${t2 / padded.length}.`;
    }
    case 5: {
      const r = rng.int(2, 12);
      const n = rng.int(2, 5);
      return `Powers: ${r}^${n} means ${r} multiplied by itself ${n} times, so ${r}^${n} = ${Array(n).fill(r).join(' * ')} = ${r ** n}.`;
    }
    case 6: {
      const km = rng.int(1, 30);
      const h = rng.int(2, 9);
      return `A cyclist rides at ${km} km per hour for ${h} hours. Distance = speed * time = ${km} * ${h} = ${km * h} km.`;
    }
    case 7: {
      const n = rng.int(2, 9);
      const m = rng.int(2, 9);
      return `Fractions: ${n}/${n * m} simplifies to 1/${m} because both numerator and denominator are divisible by ${n}.`;
    }
    default: {
      // A plain two-step word problem from the arithmetic family.
      const p = drawFresh(() => drawArithmetic(rng), reserved);
      noteProcedure('arithmetic', 'math');
      if (p.op1 === '*' || p.op2 !== '*') return `Compute ${arithmeticExpression(p)}. ${proseSolution(rng, p)}`;
      const who = rng.pick(['Maya', 'Tom', 'Lena', 'Ravi', 'Sofia', 'Omar']);
      const verb = p.op1 === '+' ? `has ${p.a} marbles and finds ${p.b} more` : `has ${p.a} marbles and gives away ${p.b}`;
      return `${who} ${verb}. Each marble is worth ${p.c} points. How many points are the marbles worth? First ${p.a} ${p.op1} ${p.b} = ${p.inner} marbles, then ${p.inner} * ${p.c} = ${p.answer}. They are worth ${p.answer} points.`;
    }
  }
}

export function generateMath(rng: Rng, n: number, reserved: ReadonlySet<string>): string[] {
  const out: string[] = [];
  const tasks: ReasoningTask[] = ['arithmetic', 'slopes', 'linear'];
  for (let i = 0; i < n; i++) {
    const kind = rng.weighted(['template', 'worked', 'lesson', 'exercises', 'other'], [34, 20, 6, 8, 32]);
    const task = tasks[i % 3];
    out.push(
      fit(() => {
        if (kind === 'template') return templated(rng, task, reserved);
        if (kind === 'worked') return worked(rng, task, reserved);
        if (kind === 'lesson') return lesson(rng, task, reserved);
        if (kind === 'exercises') return exercises(rng, task, reserved);
        return otherMath(rng, reserved);
      }),
    );
  }
  return out;
}
