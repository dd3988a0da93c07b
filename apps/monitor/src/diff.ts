/** Word-level diff (LCS): the parts of `b` that are the same as in `a`, added, or (from `a`) removed. */
export type DiffPart = { kind: 'same' | 'added' | 'removed'; text: string };

export function diffWords(a: string, b: string, maxWords = 600): DiffPart[] {
  const x = a.split(/(\s+)/).slice(0, maxWords);
  const y = b.split(/(\s+)/).slice(0, maxWords);
  const n = x.length;
  const m = y.length;
  const lcs = Array.from({ length: n + 1 }, () => new Uint16Array(m + 1));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      lcs[i]![j] = x[i] === y[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const out: DiffPart[] = [];
  const push = (kind: DiffPart['kind'], text: string) => {
    const last = out[out.length - 1];
    if (last && last.kind === kind) last.text += text;
    else out.push({ kind, text });
  };
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (x[i] === y[j]) {
      push('same', x[i++]!);
      j++;
    } else if (lcs[i + 1]![j]! >= lcs[i]![j + 1]!) push('removed', x[i++]!);
    else push('added', y[j++]!);
  }
  while (i < n) push('removed', x[i++]!);
  while (j < m) push('added', y[j++]!);
  return out;
}
