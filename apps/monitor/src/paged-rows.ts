import { useCallback, useEffect, useRef, useState } from 'react';

/** One page of a server-paged table: its rows, and how many rows match the query in all. */
export interface RowsPage<T> {
  rows: T[];
  matching: number;
}

export interface PagedRows<T> {
  /** Rows matching the query (null until the first page is in). */
  matching: number | null;
  error: string | null;
  /** The row at an index, if its page is in. */
  rowAt(index: number): T | undefined;
  /** Fetches the pages holding rows `first` to `last` that are not in or on their way. */
  want(first: number, last: number): void;
  /** Fetches the pages held (or on their way) again; those held stay shown until their new copies land. */
  refetch(): void;
}

/**
 * A table's rows as pages fetched from the server by offset, only those asked for (the rows on
 * screen). A new `fetchPage` (a new query) drops every page and fetches the first; an answer for
 * an older query or an older refetch is not taken.
 */
export function usePagedRows<T>(
  fetchPage: (offset: number, limit: number) => Promise<RowsPage<T>>,
  pageSize: number,
  errorText: (err: unknown) => string,
): PagedRows<T> {
  const pages = useRef(new Map<number, T[]>());
  const loading = useRef(new Set<number>());
  const generation = useRef(0);
  const [matching, setMatching] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [, redraw] = useState(0);

  const load = useCallback(
    (n: number, again = false) => {
      if (!again && (pages.current.has(n) || loading.current.has(n))) return;
      const gen = generation.current;
      loading.current.add(n);
      fetchPage(n * pageSize, pageSize).then(
        (p) => {
          if (gen !== generation.current) return;
          loading.current.delete(n);
          pages.current.set(n, p.rows);
          setMatching(p.matching);
          redraw((x) => x + 1);
        },
        (e) => {
          if (gen !== generation.current) return;
          loading.current.delete(n);
          setError(errorText(e));
        },
      );
    },
    [fetchPage, pageSize, errorText],
  );

  useEffect(() => {
    generation.current++;
    pages.current = new Map();
    loading.current = new Set();
    setError(null);
    setMatching(null);
    load(0);
  }, [load]);

  const want = useCallback(
    (first: number, last: number) => {
      for (let n = Math.floor(first / pageSize); n <= Math.floor(last / pageSize); n++) load(n);
    },
    [load, pageSize],
  );

  const refetch = useCallback(() => {
    const held = new Set([...pages.current.keys(), ...loading.current]);
    generation.current++;
    loading.current = new Set();
    for (const n of held) load(n, true);
  }, [load]);

  const rowAt = (i: number) => pages.current.get(Math.floor(i / pageSize))?.[i % pageSize];
  return { matching, error, rowAt, want, refetch };
}
