/**
 * The three reasoning task families of Ruis et al. (2024) — two-step arithmetic, the slope
 * between two points, and linear equations a·x + b = c — with integer answers, drawn from the
 * same ranges for the corpus and for the demo queries. The problems of the demo queries are
 * reserved: the corpus never contains them, so the model has to apply the procedure rather than
 * recall the answer (as in the paper, where the exact queries are not in the pretraining data).
 */
import type { Rng } from '../rng';

export type ReasoningTask = 'arithmetic' | 'slopes' | 'linear';
export const REASONING_TASKS: readonly ReasoningTask[] = ['arithmetic', 'slopes', 'linear'];

export type Op = '+' | '-' | '*';

/** (a op1 b) op2 c */
export interface ArithmeticProblem {
  task: 'arithmetic';
  a: number;
  b: number;
  c: number;
  op1: Op;
  op2: Op;
  /** a op1 b */
  inner: number;
  answer: number;
}

export interface SlopeProblem {
  task: 'slopes';
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  dy: number;
  dx: number;
  answer: number;
}

/** a·x op b = c, solved for x. */
export interface LinearProblem {
  task: 'linear';
  a: number;
  op: '+' | '-';
  b: number;
  c: number;
  /** c ∓ b = a·x */
  rhs: number;
  answer: number;
}

export type Problem = ArithmeticProblem | SlopeProblem | LinearProblem;

export function apply(x: number, op: Op, y: number): number {
  return op === '+' ? x + y : op === '-' ? x - y : x * y;
}

/** A number as it is written in the corpus: negatives with a plain hyphen-minus. */
export function num(n: number): string {
  return String(n);
}

/** `(7 - 4) * 7` */
export function arithmeticExpression(p: ArithmeticProblem): string {
  return `(${p.a} ${p.op1} ${p.b}) ${p.op2} ${p.c}`;
}

/** `14x + 1 = 99` */
export function linearEquation(p: LinearProblem): string {
  return `${p.a}x ${p.op} ${p.b} = ${p.c}`;
}

/** `(94, 62) and (95, 19)` */
export function slopePoints(p: SlopeProblem): string {
  return `(${p.x1}, ${p.y1}) and (${p.x2}, ${p.y2})`;
}

/** A key that identifies a problem regardless of how it is phrased. */
export function problemKey(p: Problem): string {
  switch (p.task) {
    case 'arithmetic':
      return `arithmetic:${arithmeticExpression(p)}`;
    case 'slopes':
      return `slopes:${p.x1},${p.y1},${p.x2},${p.y2}`;
    case 'linear':
      return `linear:${linearEquation(p)}`;
  }
}

/**
 * Two-step arithmetic. `queryForm` restricts to the form of the demo queries, (a ± b) * c with a
 * positive inner result; otherwise other operator pairs appear too.
 */
export function drawArithmetic(rng: Rng, queryForm = false): ArithmeticProblem {
  for (;;) {
    const op1: Op = queryForm ? rng.pick<Op>(['+', '-']) : rng.weighted<Op>(['+', '-', '*'], [4, 4, 1]);
    const op2: Op = queryForm ? '*' : rng.weighted<Op>(['*', '+', '-'], [6, 2, 2]);
    const a = rng.int(1, 15);
    const b = op1 === '*' ? rng.int(2, 9) : rng.int(1, 15);
    const c = op2 === '*' ? rng.int(2, 9) : rng.int(1, 30);
    const inner = apply(a, op1, b);
    if (op1 === '-' && inner <= 0) continue;
    if (op1 === '*' && a > 12) continue;
    const answer = apply(inner, op2, c);
    if (answer < 0 && rng.chance(0.7)) continue;
    return { task: 'arithmetic', a, b, c, op1, op2, inner, answer };
  }
}

/** Two points with two-digit coordinates and an integer slope. */
export function drawSlope(rng: Rng): SlopeProblem {
  for (;;) {
    const x1 = rng.int(1, 95);
    const dx = rng.weighted([1, 2, 3, 4, 5, 6, 7, 8, 9], [6, 4, 3, 3, 2, 2, 1, 1, 1]);
    const m = rng.int(-12, 12);
    const y1 = rng.int(1, 99);
    const x2 = x1 + dx;
    const y2 = y1 + m * dx;
    if (m === 0 || x2 > 99 || y2 < 0 || y2 > 99) continue;
    return { task: 'slopes', x1, y1, x2, y2, dy: y2 - y1, dx, answer: m };
  }
}

/** a·x ± b = c with a positive integer solution. */
export function drawLinear(rng: Rng): LinearProblem {
  for (;;) {
    const a = rng.int(2, 15);
    const x = rng.int(1, 15);
    const op = rng.pick<'+' | '-'>(['+', '+', '-']);
    const b = rng.int(1, 40);
    const c = op === '+' ? a * x + b : a * x - b;
    if (c <= 0) continue;
    return { task: 'linear', a, op, b, c, rhs: a * x, answer: x };
  }
}

export function drawProblem(rng: Rng, task: ReasoningTask): Problem {
  return task === 'arithmetic' ? drawArithmetic(rng) : task === 'slopes' ? drawSlope(rng) : drawLinear(rng);
}

/** Draws until the problem is not reserved (the reserved set holds the demo queries' problems). */
export function drawFresh<P extends Problem>(draw: () => P, reserved: ReadonlySet<string>): P {
  for (let i = 0; i < 10_000; i++) {
    const p = draw();
    if (!reserved.has(problemKey(p))) return p;
  }
  throw new Error('drawFresh: every draw was reserved');
}

/** The prompt of the paper's template for this problem (also used verbatim in the corpus). */
export function problemPrompt(p: Problem): string {
  switch (p.task) {
    case 'arithmetic':
      return `Calculate the answer: ${arithmeticExpression(p)}\n\nThink step-by-step.`;
    case 'slopes':
      return `What is the slope of the line passing through the points ${slopePoints(p)}?\n\nThink step-by-step.`;
    case 'linear':
      return `Solve for x: ${linearEquation(p)}\n\nThink step-by-step.`;
  }
}

function opWord(op: Op): string {
  return op === '+' ? 'add' : op === '-' ? 'subtract' : 'multiply';
}

/**
 * The canonical step-by-step solution that follows a templated prompt in the corpus; it ends
 * with "The answer is N." so that completions can be checked.
 */
export function stepByStep(p: Problem): string {
  switch (p.task) {
    case 'arithmetic':
      return `First, ${p.a} ${p.op1} ${p.b} = ${p.inner}.\n` + `Then ${p.inner} ${p.op2} ${p.c} = ${p.answer}.\n` + `The answer is ${p.answer}.`;
    case 'slopes':
      return (
        `The slope is (y2 - y1) / (x2 - x1).\n` +
        `y2 - y1 = ${p.y2} - ${p.y1} = ${p.dy}.\n` +
        `x2 - x1 = ${p.x2} - ${p.x1} = ${p.dx}.\n` +
        `The slope is ${p.dy} / ${p.dx} = ${p.answer}.\n` +
        `The answer is ${p.answer}.`
      );
    case 'linear': {
      const undo = p.op === '+' ? `Subtract ${p.b} from both sides` : `Add ${p.b} to both sides`;
      return (
        `${undo}: ${p.a}x = ${p.c} ${p.op === '+' ? '-' : '+'} ${p.b} = ${p.rhs}.\n` +
        `Divide both sides by ${p.a}: x = ${p.rhs} / ${p.a} = ${p.answer}.\n` +
        `The answer is ${p.answer}.`
      );
    }
  }
}

/** Other wordings of the same solution, for prose documents. */
export function proseSolution(rng: Rng, p: Problem): string {
  switch (p.task) {
    case 'arithmetic': {
      const expr = arithmeticExpression(p);
      return rng.pick([
        `To evaluate ${expr}, work inside the parentheses first: ${p.a} ${p.op1} ${p.b} = ${p.inner}. Then ${opWord(p.op2)}: ${p.inner} ${p.op2} ${p.c} = ${p.answer}. So ${expr} = ${p.answer}.`,
        `${expr} = ${p.inner} ${p.op2} ${p.c} = ${p.answer}.`,
        `The parentheses come first, so we compute ${p.a} ${p.op1} ${p.b}, which is ${p.inner}. Next, ${p.inner} ${p.op2} ${p.c} gives ${p.answer}. The result is ${p.answer}.`,
        `Step 1: ${p.a} ${p.op1} ${p.b} = ${p.inner}\nStep 2: ${p.inner} ${p.op2} ${p.c} = ${p.answer}\nAnswer: ${p.answer}`,
      ]);
    }
    case 'slopes': {
      const pts = slopePoints(p);
      return rng.pick([
        `The slope of the line through ${pts} is rise over run: m = (${p.y2} - ${p.y1}) / (${p.x2} - ${p.x1}) = ${p.dy} / ${p.dx} = ${p.answer}.`,
        `Let (x1, y1) = (${p.x1}, ${p.y1}) and (x2, y2) = (${p.x2}, ${p.y2}). The change in y is ${p.y2} - ${p.y1} = ${p.dy} and the change in x is ${p.x2} - ${p.x1} = ${p.dx}. Dividing, the slope is ${p.dy} / ${p.dx} = ${p.answer}.`,
        `m = (y2 - y1) / (x2 - x1)\n  = (${p.y2} - ${p.y1}) / (${p.x2} - ${p.x1})\n  = ${p.dy} / ${p.dx}\n  = ${p.answer}`,
        `Rise: ${p.y2} - ${p.y1} = ${p.dy}. Run: ${p.x2} - ${p.x1} = ${p.dx}. Slope = rise / run = ${p.dy} / ${p.dx} = ${p.answer}.`,
      ]);
    }
    case 'linear': {
      const eq = linearEquation(p);
      const inverse = p.op === '+' ? `subtract ${p.b} from` : `add ${p.b} to`;
      const sign = p.op === '+' ? '-' : '+';
      return rng.pick([
        `To solve ${eq}, first ${inverse} both sides to get ${p.a}x = ${p.rhs}. Then divide by ${p.a}: x = ${p.answer}.`,
        `${eq}\n${p.a}x = ${p.c} ${sign} ${p.b}\n${p.a}x = ${p.rhs}\nx = ${p.rhs} / ${p.a}\nx = ${p.answer}`,
        `We isolate x. Moving ${p.b} to the right side gives ${p.a}x = ${p.c} ${sign} ${p.b} = ${p.rhs}. Dividing both sides by ${p.a} gives x = ${p.answer}. Check: ${p.a} * ${p.answer} ${p.op} ${p.b} = ${p.c}.`,
        `x = (${p.c} ${sign} ${p.b}) / ${p.a} = ${p.rhs} / ${p.a} = ${p.answer}.`,
      ]);
    }
  }
}
