// Waiters of one provider key, served in turn by lane (a lane is a run): two runs waiting on one
// key get one call each in turn, however many calls each has queued.

export class FairQueue<T> {
  private readonly lanes = new Map<string, T[]>();
  private order: string[] = [];
  private next = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  push(lane: string, item: T): void {
    let q = this.lanes.get(lane);
    if (!q) {
      q = [];
      this.lanes.set(lane, q);
      this.order.push(lane);
    }
    q.push(item);
    this.count++;
  }

  /** The first waiter of each lane. */
  heads(): T[] {
    return this.order.map((lane) => this.lanes.get(lane)![0]!);
  }

  /** The waiter `shift` would take, left in place. */
  peek(): T | undefined {
    for (let i = 0; i < this.order.length; i++) {
      const q = this.lanes.get(this.order[(this.next + i) % this.order.length]!)!;
      if (q.length) return q[0];
    }
    return undefined;
  }

  /** The next lane's first waiter, lanes taken in turn. */
  shift(): T | undefined {
    if (this.count === 0) return undefined;
    for (let i = 0; i < this.order.length; i++) {
      const at = (this.next + i) % this.order.length;
      const lane = this.order[at]!;
      const q = this.lanes.get(lane)!;
      const item = q.shift();
      if (item === undefined) continue;
      this.count--;
      if (q.length === 0) {
        this.lanes.delete(lane);
        this.order.splice(at, 1);
        this.next = this.order.length ? at % this.order.length : 0;
      } else this.next = (at + 1) % this.order.length;
      return item;
    }
    return undefined;
  }

  /** Takes a waiter out wherever it is (its call stopped waiting). */
  remove(lane: string, item: T): boolean {
    const q = this.lanes.get(lane);
    const i = q ? q.indexOf(item) : -1;
    if (!q || i < 0) return false;
    q.splice(i, 1);
    this.count--;
    if (q.length === 0) {
      const at = this.order.indexOf(lane);
      this.lanes.delete(lane);
      this.order.splice(at, 1);
      if (this.next > at) this.next--;
      if (this.next >= this.order.length) this.next = 0;
    }
    return true;
  }
}
