/**
 * `code`: Python and JavaScript. About a third are procedures for the reasoning task families
 * (two-step arithmetic, slopes, linear equations) with varied names, comments, docstrings and
 * worked example calls whose outputs are computed here; the rest is unrelated everyday code
 * (string utilities, sorting, classes, loops, small data structures).
 */
import type { Rng } from '../rng';
import { fit } from './budget';
import { noteFact, noteProcedure } from './labels';
import { FOCUS_COUNTRIES } from './facts';
import { type ArithmeticProblem, type LinearProblem, type SlopeProblem, drawArithmetic, drawFresh, drawLinear, drawSlope } from './problems';

type Lang = 'py' | 'js';

const WORDS = [
  'apple',
  'banana',
  'level',
  'radar',
  'python',
  'script',
  'window',
  'garden',
  'rotor',
  'kayak',
  'planet',
  'silver',
  'noon',
  'orange',
  'market',
  'river',
  'stats',
  'civic',
  'bridge',
  'pencil',
  'madam',
  'coffee',
  'rocket',
  'tomato',
];

/** Python's repr of a float that holds an integer or a short decimal. */
function pyFloat(x: number): string {
  return Number.isInteger(x) ? x.toFixed(1) : String(x);
}

function pyList(xs: readonly (number | string)[]): string {
  return `[${xs.map((x) => (typeof x === 'string' ? `'${x}'` : String(x))).join(', ')}]`;
}

/** Node's console.log of a short array. */
function jsArray(xs: readonly (number | string)[]): string {
  return xs.length === 0 ? '[]' : `[ ${xs.map((x) => (typeof x === 'string' ? `'${x}'` : String(x))).join(', ')} ]`;
}

function pyBool(b: boolean): string {
  return b ? 'True' : 'False';
}

/** A Python example call with its output, in one of three styles. */
function pyExample(call: string, output: string, style: number): string {
  if (style === 0) return `print(${call})  # ${output}`;
  if (style === 1) return `>>> ${call}\n${output}`;
  return `result = ${call}\nprint(result)  # prints ${output}`;
}

function jsExample(call: string, output: string, style: number): string {
  if (style === 0) return `console.log(${call}); // ${output}`;
  if (style === 1) return `console.log(${call});\n// => ${output}`;
  return `const result = ${call};\nconsole.log(result); // ${output}`;
}

function examples(rng: Rng, lang: Lang, calls: { call: string; py: string; js: string }[]): string {
  const style = rng.int(0, 2);
  const lines = calls.map((c) => (lang === 'py' ? pyExample(c.call, c.py, style) : jsExample(c.call, c.js, style)));
  return lines.join('\n');
}

// ---------------------------------------------------------------- reasoning procedures

const ARITH_NAMES = ['calc', 'compute', 'evaluate', 'two_step', 'apply_ops', 'combine', 'calculate', 'solve_expr'];
const ARITH_PARAMS = [
  ['a', 'b', 'c'],
  ['x', 'y', 'z'],
  ['first', 'second', 'factor'],
  ['p', 'q', 'r'],
  ['m', 'n', 'k'],
];

function camel(name: string): string {
  return name.replace(/_([a-z])/g, (_, ch: string) => ch.toUpperCase());
}

function arithmeticCode(rng: Rng, lang: Lang, reserved: ReadonlySet<string>): string {
  noteProcedure('arithmetic', 'code');
  const first = drawFresh(() => drawArithmetic(rng), reserved);
  const { op1, op2 } = first;
  const same = (): ArithmeticProblem => {
    for (;;) {
      const p = drawFresh(() => drawArithmetic(rng), reserved);
      if (p.op1 === op1 && p.op2 === op2) return p;
    }
  };
  const problems = [first, ...Array.from({ length: rng.int(0, 2) }, same)];
  const name = lang === 'py' ? rng.pick(ARITH_NAMES) : camel(rng.pick(ARITH_NAMES));
  const [a, b, c] = rng.pick(ARITH_PARAMS);
  const expr = `(${a} ${op1} ${b}) ${op2} ${c}`;
  const stepwise = rng.chance(0.4);
  const calls = problems.map((p) => ({ call: `${name}(${p.a}, ${p.b}, ${p.c})`, py: String(p.answer), js: String(p.answer) }));
  const ex = examples(rng, lang, calls);
  const doc = rng.pick([`Return ${expr}.`, `Compute ${expr} in two steps.`, `Apply ${op1} and then ${op2}.`, '']);
  if (lang === 'py') {
    const header = `def ${name}(${a}, ${b}, ${c}):`;
    const docstring = doc === '' ? '' : rng.chance(0.6) ? `    """${doc}"""\n` : `    # ${doc}\n`;
    const body = stepwise
      ? `    inner = ${a} ${op1} ${b}  # first step\n    result = inner ${op2} ${c}  # second step\n    return result`
      : `    return ${expr}`;
    return `${header}\n${docstring}${body}\n\n${ex}`;
  }
  const comment = doc === '' ? '' : `// ${doc}\n`;
  if (!stepwise && rng.chance(0.4)) return `${comment}const ${name} = (${a}, ${b}, ${c}) => ${expr};\n\n${ex}`;
  const body = stepwise
    ? `  const inner = ${a} ${op1} ${b}; // first step\n  const result = inner ${op2} ${c}; // second step\n  return result;`
    : `  return ${expr};`;
  return `${comment}function ${name}(${a}, ${b}, ${c}) {\n${body}\n}\n\n${ex}`;
}

const SLOPE_NAMES = ['slope', 'get_slope', 'line_slope', 'gradient', 'rise_over_run', 'slope_between'];

function slopeCode(rng: Rng, lang: Lang, reserved: ReadonlySet<string>): string {
  noteProcedure('slopes', 'code');
  const problems: SlopeProblem[] = Array.from({ length: rng.int(1, 3) }, () => drawFresh(() => drawSlope(rng), reserved));
  const name = lang === 'py' ? rng.pick(SLOPE_NAMES) : camel(rng.pick(SLOPE_NAMES));
  const tuples = rng.chance(0.3);
  const guard = rng.chance(0.4);
  const stepwise = rng.chance(0.4);
  const calls = problems.map((p) => ({
    call: tuples ? `${name}((${p.x1}, ${p.y1}), (${p.x2}, ${p.y2}))` : `${name}(${p.x1}, ${p.y1}, ${p.x2}, ${p.y2})`,
    py: pyFloat(p.answer),
    js: String(p.answer),
  }));
  const jsCalls = tuples ? calls.map((c) => ({ ...c, call: c.call.replace(/\((\d+), (\d+)\)/g, '[$1, $2]') })) : calls;
  const ex = examples(rng, lang, lang === 'py' ? calls : jsCalls);
  const doc = rng.pick([
    'Slope of the line through (x1, y1) and (x2, y2).',
    'Return the slope between two points: (y2 - y1) / (x2 - x1).',
    'Rise over run.',
    '',
  ]);
  if (lang === 'py') {
    const params = tuples ? 'p1, p2' : 'x1, y1, x2, y2';
    const unpack = tuples ? '    x1, y1 = p1\n    x2, y2 = p2\n' : '';
    const docstring = doc === '' ? '' : `    """${doc}"""\n`;
    const check = guard ? '    if x2 == x1:\n        raise ValueError("vertical line has no slope")\n' : '';
    const body = stepwise ? '    rise = y2 - y1\n    run = x2 - x1\n    return rise / run' : '    return (y2 - y1) / (x2 - x1)';
    return `def ${name}(${params}):\n${docstring}${unpack}${check}${body}\n\n${ex}`;
  }
  const params = tuples ? '[x1, y1], [x2, y2]' : 'x1, y1, x2, y2';
  const comment = doc === '' ? '' : `/** ${doc} */\n`;
  const check = guard ? "  if (x2 === x1) throw new Error('vertical line has no slope');\n" : '';
  const body = stepwise ? '  const rise = y2 - y1;\n  const run = x2 - x1;\n  return rise / run;' : '  return (y2 - y1) / (x2 - x1);';
  return `${comment}function ${name}(${params}) {\n${check}${body}\n}\n\n${ex}`;
}

const LINEAR_NAMES = ['solve_linear', 'solve_for_x', 'find_x', 'linear_root', 'solve'];

function linearCode(rng: Rng, lang: Lang, reserved: ReadonlySet<string>): string {
  noteProcedure('linear', 'code');
  const problems: LinearProblem[] = Array.from({ length: rng.int(1, 3) }, () => drawFresh(() => drawLinear(rng), reserved));
  const name = lang === 'py' ? rng.pick(LINEAR_NAMES) : camel(rng.pick(LINEAR_NAMES));
  const stepwise = rng.chance(0.4);
  const calls = problems.map((p) => {
    const b = p.op === '+' ? p.b : -p.b;
    return { call: `${name}(${p.a}, ${b}, ${p.c})`, py: pyFloat(p.answer), js: String(p.answer) };
  });
  const ex = examples(rng, lang, calls);
  const p0 = problems[0];
  const comment = rng.chance(0.5) ? `${lang === 'py' ? '#' : '//'} solve ${p0.a}x ${p0.op} ${p0.b} = ${p0.c}\n` : '';
  const doc = rng.pick(['Solve a*x + b = c for x.', 'Return x such that a * x + b == c.', 'Solution of the linear equation a*x + b = c.', '']);
  if (lang === 'py') {
    const docstring = doc === '' ? '' : `    """${doc}"""\n`;
    const check = rng.chance(0.3) ? '    if a == 0:\n        raise ValueError("a must not be zero")\n' : '';
    const body = stepwise ? '    rhs = c - b  # move b to the right side\n    return rhs / a  # divide by a' : '    return (c - b) / a';
    return `def ${name}(a, b, c):\n${docstring}${check}${body}\n\n${comment}${ex}`;
  }
  const jsdoc = doc === '' ? '' : `// ${doc}\n`;
  const body = stepwise ? '  const rhs = c - b; // move b to the right side\n  return rhs / a; // divide by a' : '  return (c - b) / a;';
  return `${jsdoc}function ${name}(a, b, c) {\n${body}\n}\n\n${comment}${ex}`;
}

// ---------------------------------------------------------------- everyday code

function reverseCode(rng: Rng, lang: Lang): string {
  const w = rng.pick(WORDS);
  const rev = [...w].reverse().join('');
  if (lang === 'py') {
    const name = rng.pick(['reverse', 'reverse_string', 'backwards']);
    return rng.pick([
      `def ${name}(s):\n    return s[::-1]\n\nprint(${name}("${w}"))  # ${rev}`,
      `def ${name}(text):\n    out = ""\n    for ch in text:\n        out = ch + out\n    return out\n\nprint(${name}("${w}"))\n# ${rev}`,
    ]);
  }
  const name = rng.pick(['reverse', 'reverseString', 'backwards']);
  return `function ${name}(s) {\n  return s.split('').reverse().join('');\n}\n\nconsole.log(${name}('${w}')); // ${rev}`;
}

function palindromeCode(rng: Rng, lang: Lang): string {
  const ws = rng.sample(WORDS, 2);
  const isPal = (w: string) => w === [...w].reverse().join('');
  if (lang === 'py') {
    return `def is_palindrome(word):\n    word = word.lower()\n    return word == word[::-1]\n\nfor w in ["${ws[0]}", "${ws[1]}"]:\n    print(w, is_palindrome(w))\n# ${ws[0]} ${pyBool(isPal(ws[0]))}\n# ${ws[1]} ${pyBool(isPal(ws[1]))}`;
  }
  return `const isPalindrome = (word) => {\n  const w = word.toLowerCase();\n  return w === [...w].reverse().join('');\n};\n\nconsole.log(isPalindrome('${ws[0]}')); // ${isPal(ws[0])}\nconsole.log(isPalindrome('${ws[1]}')); // ${isPal(ws[1])}`;
}

function vowelsCode(rng: Rng, lang: Lang): string {
  const w = rng.pick(WORDS);
  const n = [...w].filter((ch) => 'aeiou'.includes(ch)).length;
  if (lang === 'py') return `def count_vowels(text):\n    return sum(1 for ch in text.lower() if ch in "aeiou")\n\nprint(count_vowels("${w}"))  # ${n}`;
  return `function countVowels(text) {\n  let count = 0;\n  for (const ch of text.toLowerCase()) {\n    if ('aeiou'.includes(ch)) count++;\n  }\n  return count;\n}\n\nconsole.log(countVowels('${w}')); // ${n}`;
}

function factorialCode(rng: Rng, lang: Lang): string {
  const n = rng.int(3, 10);
  let f = 1;
  for (let i = 2; i <= n; i++) f *= i;
  const recursive = rng.chance(0.5);
  if (lang === 'py') {
    const body = recursive
      ? '    if n <= 1:\n        return 1\n    return n * factorial(n - 1)'
      : '    result = 1\n    for i in range(2, n + 1):\n        result *= i\n    return result';
    return `def factorial(n):\n${body}\n\nprint(factorial(${n}))  # ${f}`;
  }
  const body = recursive ? '  return n <= 1 ? 1 : n * factorial(n - 1);' : '  let result = 1;\n  for (let i = 2; i <= n; i++) result *= i;\n  return result;';
  return `function factorial(n) {\n${body}\n}\n\nconsole.log(factorial(${n})); // ${f}`;
}

function fibonacciCode(rng: Rng, lang: Lang): string {
  const n = rng.int(5, 10);
  const fib = [0, 1];
  while (fib.length < n) fib.push(fib[fib.length - 1] + fib[fib.length - 2]);
  if (lang === 'py')
    return `def fibonacci(n):\n    seq = [0, 1]\n    while len(seq) < n:\n        seq.append(seq[-1] + seq[-2])\n    return seq[:n]\n\nprint(fibonacci(${n}))\n# ${pyList(fib)}`;
  return `function fibonacci(n) {\n  const seq = [0, 1];\n  while (seq.length < n) seq.push(seq[seq.length - 1] + seq[seq.length - 2]);\n  return seq.slice(0, n);\n}\n\nconsole.log(fibonacci(${n}));\n// ${jsArray(fib)}`;
}

function sortCode(rng: Rng, lang: Lang): string {
  const xs = Array.from({ length: rng.int(4, 7) }, () => rng.int(1, 99));
  const sorted = [...xs].sort((a, b) => a - b);
  const algo = rng.pick(['bubble', 'insertion', 'builtin']);
  if (lang === 'py') {
    if (algo === 'bubble')
      return `def bubble_sort(items):\n    items = list(items)\n    n = len(items)\n    for i in range(n):\n        for j in range(n - 1 - i):\n            if items[j] > items[j + 1]:\n                items[j], items[j + 1] = items[j + 1], items[j]\n    return items\n\nprint(bubble_sort(${pyList(xs)}))\n# ${pyList(sorted)}`;
    if (algo === 'insertion')
      return `def insertion_sort(items):\n    items = list(items)\n    for i in range(1, len(items)):\n        key = items[i]\n        j = i - 1\n        while j >= 0 and items[j] > key:\n            items[j + 1] = items[j]\n            j -= 1\n        items[j + 1] = key\n    return items\n\nprint(insertion_sort(${pyList(xs)}))  # ${pyList(sorted)}`;
    return `numbers = ${pyList(xs)}\nnumbers.sort()\nprint(numbers)  # ${pyList(sorted)}\nprint(sorted(numbers, reverse=True))  # ${pyList([...sorted].reverse())}`;
  }
  if (algo === 'bubble')
    return `function bubbleSort(items) {\n  const a = [...items];\n  for (let i = 0; i < a.length; i++) {\n    for (let j = 0; j < a.length - 1 - i; j++) {\n      if (a[j] > a[j + 1]) [a[j], a[j + 1]] = [a[j + 1], a[j]];\n    }\n  }\n  return a;\n}\n\nconsole.log(bubbleSort([${xs.join(', ')}]));\n// ${jsArray(sorted)}`;
  return `const numbers = [${xs.join(', ')}];\n// sort() compares strings by default, so pass a comparator\nnumbers.sort((a, b) => a - b);\nconsole.log(numbers); // ${jsArray(sorted)}`;
}

function sumCode(rng: Rng, lang: Lang): string {
  const xs = Array.from({ length: rng.int(3, 6) }, () => rng.int(1, 50));
  const total = xs.reduce((a, b) => a + b, 0);
  const mx = Math.max(...xs);
  if (lang === 'py') {
    return rng.pick([
      `def total(values):\n    s = 0\n    for v in values:\n        s += v\n    return s\n\nprint(total(${pyList(xs)}))  # ${total}`,
      `values = ${pyList(xs)}\nprint(sum(values))  # ${total}\nprint(max(values))  # ${mx}\nprint(len(values))  # ${xs.length}`,
      `def largest(values):\n    best = values[0]\n    for v in values[1:]:\n        if v > best:\n            best = v\n    return best\n\nprint(largest(${pyList(xs)}))  # ${mx}`,
    ]);
  }
  return rng.pick([
    `const values = [${xs.join(', ')}];\nconst total = values.reduce((acc, v) => acc + v, 0);\nconsole.log(total); // ${total}`,
    `function largest(values) {\n  let best = values[0];\n  for (const v of values) if (v > best) best = v;\n  return best;\n}\n\nconsole.log(largest([${xs.join(', ')}])); // ${mx}`,
    `const values = [${xs.join(', ')}];\nconst doubled = values.map((v) => v * 2);\nconsole.log(doubled); // ${jsArray(xs.map((v) => v * 2))}`,
  ]);
}

function classCode(rng: Rng, lang: Lang): string {
  const kind = rng.pick(['stack', 'counter', 'account']);
  const a = rng.int(1, 9);
  const b = rng.int(1, 9);
  if (lang === 'py') {
    if (kind === 'stack')
      return `class Stack:\n    def __init__(self):\n        self.items = []\n\n    def push(self, item):\n        self.items.append(item)\n\n    def pop(self):\n        return self.items.pop()\n\n    def is_empty(self):\n        return not self.items\n\ns = Stack()\ns.push(${a})\ns.push(${b})\nprint(s.pop())  # ${b}\nprint(s.is_empty())  # False`;
    if (kind === 'counter')
      return `class Counter:\n    def __init__(self, start=0):\n        self.value = start\n\n    def increment(self, step=1):\n        self.value += step\n        return self.value\n\nc = Counter(${a})\nc.increment()\nprint(c.increment(${b}))  # ${a + 1 + b}`;
    const deposit = a * 10;
    const withdraw = b * 5;
    return `class Account:\n    def __init__(self, balance=0):\n        self.balance = balance\n\n    def deposit(self, amount):\n        self.balance += amount\n\n    def withdraw(self, amount):\n        if amount > self.balance:\n            raise ValueError("insufficient funds")\n        self.balance -= amount\n\nacct = Account(100)\nacct.deposit(${deposit})\nacct.withdraw(${withdraw})\nprint(acct.balance)  # ${100 + deposit - withdraw}`;
  }
  if (kind === 'stack')
    return `class Stack {\n  constructor() {\n    this.items = [];\n  }\n  push(item) {\n    this.items.push(item);\n  }\n  pop() {\n    return this.items.pop();\n  }\n  get size() {\n    return this.items.length;\n  }\n}\n\nconst s = new Stack();\ns.push(${a});\ns.push(${b});\nconsole.log(s.pop()); // ${b}\nconsole.log(s.size); // 1`;
  return `class Counter {\n  constructor(start = 0) {\n    this.value = start;\n  }\n  increment(step = 1) {\n    this.value += step;\n    return this.value;\n  }\n}\n\nconst c = new Counter(${a});\nc.increment();\nconsole.log(c.increment(${b})); // ${a + 1 + b}`;
}

function stringCode(rng: Rng, lang: Lang): string {
  const ws = rng.sample(WORDS, 3);
  if (lang === 'py') {
    return rng.pick([
      `words = ${pyList(ws)}\nprint(", ".join(words))  # ${ws.join(', ')}\nprint([w.upper() for w in words])  # ${pyList(ws.map((w) => w.toUpperCase()))}`,
      `def title_case(text):\n    return " ".join(w.capitalize() for w in text.split())\n\nprint(title_case("${ws.join(' ')}"))  # ${ws.map((w) => w[0].toUpperCase() + w.slice(1)).join(' ')}`,
      `from collections import Counter\n\ntext = "${ws[0]} ${ws[1]} ${ws[0]}"\ncounts = Counter(text.split())\nprint(counts["${ws[0]}"])  # 2`,
      `name = "${ws[0]}"\nprint(f"{name} has {len(name)} letters")  # ${ws[0]} has ${ws[0].length} letters`,
    ]);
  }
  return rng.pick([
    `const words = ['${ws.join("', '")}'];\nconsole.log(words.join('-')); // ${ws.join('-')}\nconsole.log(words.map((w) => w.length)); // ${jsArray(ws.map((w) => w.length))}`,
    `function capitalize(word) {\n  return word.charAt(0).toUpperCase() + word.slice(1);\n}\n\nconsole.log(capitalize('${ws[0]}')); // ${ws[0][0].toUpperCase() + ws[0].slice(1)}`,
    `const name = '${ws[0]}';\nconsole.log(\`\${name} has \${name.length} letters\`); // ${ws[0]} has ${ws[0].length} letters`,
    `const longWords = ['${ws.join("', '")}'].filter((w) => w.length > 5);\nconsole.log(longWords); // ${jsArray(ws.filter((w) => w.length > 5))}`,
  ]);
}

function gcdCode(rng: Rng, lang: Lang): string {
  const g = rng.int(2, 9);
  const a = g * rng.int(2, 12);
  const b = g * rng.int(2, 12);
  const gcd = (x: number, y: number): number => (y === 0 ? x : gcd(y, x % y));
  const r = gcd(a, b);
  if (rng.chance(0.5)) {
    const n = rng.int(10, 60);
    let prime = n > 1;
    for (let i = 2; i * i <= n; i++) if (n % i === 0) prime = false;
    if (lang === 'py')
      return `def is_prime(n):\n    if n < 2:\n        return False\n    i = 2\n    while i * i <= n:\n        if n % i == 0:\n            return False\n        i += 1\n    return True\n\nprint(is_prime(${n}))  # ${pyBool(prime)}`;
    return `function isPrime(n) {\n  if (n < 2) return false;\n  for (let i = 2; i * i <= n; i++) {\n    if (n % i === 0) return false;\n  }\n  return true;\n}\n\nconsole.log(isPrime(${n})); // ${prime}`;
  }
  if (lang === 'py') return `def gcd(a, b):\n    while b:\n        a, b = b, a % b\n    return a\n\nprint(gcd(${a}, ${b}))  # ${r}`;
  return `function gcd(a, b) {\n  while (b !== 0) [a, b] = [b, a % b];\n  return a;\n}\n\nconsole.log(gcd(${a}, ${b})); // ${r}`;
}

function conversionCode(rng: Rng, lang: Lang): string {
  const c = rng.int(0, 20) * 5;
  const f = (c * 9) / 5 + 32;
  const w = rng.int(2, 12);
  const h = rng.int(2, 12);
  if (rng.chance(0.5)) {
    if (lang === 'py') return `def celsius_to_fahrenheit(c):\n    return c * 9 / 5 + 32\n\nprint(celsius_to_fahrenheit(${c}))  # ${pyFloat(f)}`;
    return `const toFahrenheit = (c) => (c * 9) / 5 + 32;\nconsole.log(toFahrenheit(${c})); // ${f}`;
  }
  if (lang === 'py')
    return `def rectangle_area(width, height):\n    return width * height\n\ndef rectangle_perimeter(width, height):\n    return 2 * (width + height)\n\nprint(rectangle_area(${w}, ${h}))  # ${w * h}\nprint(rectangle_perimeter(${w}, ${h}))  # ${2 * (w + h)}`;
  return `function area(width, height) {\n  return width * height;\n}\n\nconsole.log(area(${w}, ${h})); // ${w * h}`;
}

/** Facts in code, as real repositories have them: a lookup table of capitals. */
function lookupCode(rng: Rng, lang: Lang): string {
  const cs = rng.sample(FOCUS_COUNTRIES, rng.int(3, 5));
  const q = rng.pick(cs);
  for (const c of cs) noteFact(c.name, 'capital', c.capital);
  if (lang === 'py') {
    const body = cs.map((c) => `    "${c.name}": "${c.capital}",`).join('\n');
    return `CAPITALS = {\n${body}\n}\n\ndef capital_of(country):\n    return CAPITALS.get(country, "unknown")\n\nprint(capital_of("${q.name}"))  # ${q.capital}`;
  }
  const body = cs.map((c) => `  '${c.name}': '${c.capital}',`).join('\n');
  return `const capitals = {\n${body}\n};\n\nconsole.log(capitals['${q.name}']); // ${q.capital}`;
}

function loopCode(rng: Rng, lang: Lang): string {
  const n = rng.int(3, 6);
  const squares = Array.from({ length: n }, (_, i) => (i + 1) * (i + 1));
  if (lang === 'py') {
    return rng.pick([
      `squares = [i * i for i in range(1, ${n + 1})]\nprint(squares)  # ${pyList(squares)}`,
      `for i in range(1, 16):\n    if i % 15 == 0:\n        print("FizzBuzz")\n    elif i % 3 == 0:\n        print("Fizz")\n    elif i % 5 == 0:\n        print("Buzz")\n    else:\n        print(i)`,
      `count = 0\nwhile count < ${n}:\n    print("step", count)\n    count += 1`,
      `with open("data.txt") as f:\n    lines = [line.strip() for line in f]\nprint(len(lines), "lines")`,
    ]);
  }
  return rng.pick([
    `const squares = [];\nfor (let i = 1; i <= ${n}; i++) {\n  squares.push(i * i);\n}\nconsole.log(squares); // ${jsArray(squares)}`,
    `for (let i = 1; i <= 15; i++) {\n  if (i % 15 === 0) console.log('FizzBuzz');\n  else if (i % 3 === 0) console.log('Fizz');\n  else if (i % 5 === 0) console.log('Buzz');\n  else console.log(i);\n}`,
    `async function loadJson(url) {\n  const res = await fetch(url);\n  if (!res.ok) throw new Error(\`HTTP \${res.status}\`);\n  return res.json();\n}`,
    `function debounce(fn, ms) {\n  let timer;\n  return (...args) => {\n    clearTimeout(timer);\n    timer = setTimeout(() => fn(...args), ms);\n  };\n}`,
  ]);
}

const EVERYDAY = [
  reverseCode,
  palindromeCode,
  vowelsCode,
  factorialCode,
  fibonacciCode,
  sortCode,
  sumCode,
  classCode,
  stringCode,
  gcdCode,
  conversionCode,
  lookupCode,
  loopCode,
];

/** Optional framing: a file header or a markdown fence, as code appears on the web. */
function frame(rng: Rng, lang: Lang, code: string): string {
  const r = rng.next();
  if (r < 0.15) return `\`\`\`${lang === 'py' ? 'python' : 'javascript'}\n${code}\n\`\`\``;
  if (r < 0.3) return `${lang === 'py' ? '#' : '//'} ${rng.pick(['utils', 'helpers', 'math_utils', 'main', 'example', 'solution'])}.${lang}\n${code}`;
  return code;
}

export function generateCode(rng: Rng, n: number, reserved: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const lang: Lang = rng.chance(0.55) ? 'py' : 'js';
    const kind = rng.weighted(['arithmetic', 'slopes', 'linear', 'other'], [13, 12, 12, 63]);
    const everyday = rng.pick(EVERYDAY);
    out.push(
      fit(() => {
        let code: string;
        if (kind === 'arithmetic') code = arithmeticCode(rng, lang, reserved);
        else if (kind === 'slopes') code = slopeCode(rng, lang, reserved);
        else if (kind === 'linear') code = linearCode(rng, lang, reserved);
        else code = everyday(rng, lang);
        return frame(rng, lang, code);
      }),
    );
  }
  return out;
}
