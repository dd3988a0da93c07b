/**
 * One piece of work per key at a time: a caller arriving while the work for its key is under way
 * gets that work's promise; the next caller after it settles (resolved or not) starts it anew.
 */
export function sharedWhileUnderWay<K, T>(): (key: K, work: () => Promise<T>) => Promise<T> {
  const underWay = new Map<K, Promise<T>>();
  return (key, work) => {
    let p = underWay.get(key);
    if (!p) {
      p = work().finally(() => underWay.delete(key));
      underWay.set(key, p);
    }
    return p;
  };
}
