const SUBJECTS = [
  'photosynthesis',
  'the French Revolution',
  'TCP congestion control',
  'compound interest',
  'black holes',
  'the water cycle',
  'Rust ownership',
  'vaccines',
  'inflation',
  'the Pythagorean theorem',
  'git rebase',
  'plate tectonics',
  'SQL joins',
  'the immune system',
  'recursion',
  'supply and demand',
  'neural networks',
  'the Roman Empire',
  'climate feedback loops',
  'HTTP caching',
];
const TEMPLATES = [
  'Explain {s} in two sentences.',
  'What is the most common misconception about {s}?',
  'Give a one-line summary of {s} for a ten-year-old.',
  'List three facts about {s}.',
  'Write a haiku about {s}.',
  "How would you test someone's understanding of {s}?",
  'Compare {s} with something from everyday life.',
  'What question about {s} is still open?',
];

/** `n` varied, realistic short prompts; the same `n` always gives the same list. */
export function demoPrompts(n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    // Every (subject, template) pair once in the first 160, in an interleaved order.
    const s = SUBJECTS[i % SUBJECTS.length]!;
    const t = TEMPLATES[(i + Math.floor(i / SUBJECTS.length)) % TEMPLATES.length]!;
    const p = t.replace('{s}', s);
    out.push(i < SUBJECTS.length * TEMPLATES.length ? p : `${p} (#${i + 1})`);
  }
  return out;
}
