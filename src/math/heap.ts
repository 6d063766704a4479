/**
 * Binary min-heap of (key, value) pairs stored in typed arrays: float keys, int32 values.
 *
 * Made for front-propagation algorithms (fast marching, Dijkstra on pixel grids) that push millions of
 * entries: no per-entry objects, storage grows by doubling and is reused across `clear()`.
 * There is no decrease-key; callers push a new entry with the smaller key and skip stale entries when
 * they pop them ("lazy deletion"), which is cheaper than maintaining an index map.
 * Entries with equal keys pop in an unspecified order.
 */
export class MinHeap {
  private _keys: Float64Array;
  private _values: Int32Array;
  private _size = 0;

  /** @param capacity initial number of slots (grows on demand); default 1024. */
  constructor(capacity = 1024) {
    const n = Math.max(16, Math.floor(capacity));
    this._keys = new Float64Array(n);
    this._values = new Int32Array(n);
  }

  /** Number of entries in the heap. */
  get size(): number {
    return this._size;
  }

  /** Removes every entry (keeps the storage). */
  clear(): void {
    this._size = 0;
  }

  /** Smallest key, or +Infinity when empty. */
  peekKey(): number {
    return this._size > 0 ? this._keys[0] : Infinity;
  }

  /** Value of the smallest entry, or -1 when empty. */
  peekValue(): number {
    return this._size > 0 ? this._values[0] : -1;
  }

  /** Adds an entry. O(log n). */
  push(key: number, value: number): void {
    if (this._size === this._keys.length) this._grow();
    const keys = this._keys;
    const values = this._values;
    // Sift up: move parents down until the slot for `key` is found.
    let i = this._size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pk = keys[parent];
      if (pk <= key) break;
      keys[i] = pk;
      values[i] = values[parent];
      i = parent;
    }
    keys[i] = key;
    values[i] = value;
  }

  /** Removes the smallest entry and returns its value; returns -1 when empty. O(log n). */
  pop(): number {
    const n = this._size;
    if (n === 0) return -1;
    const keys = this._keys;
    const values = this._values;
    const top = values[0];
    const last = n - 1;
    this._size = last;
    if (last > 0) {
      // Sift the last entry down from the root.
      const key = keys[last];
      const value = values[last];
      let i = 0;
      for (;;) {
        let child = 2 * i + 1;
        if (child >= last) break;
        const right = child + 1;
        if (right < last && keys[right] < keys[child]) child = right;
        if (keys[child] >= key) break;
        keys[i] = keys[child];
        values[i] = values[child];
        i = child;
      }
      keys[i] = key;
      values[i] = value;
    }
    return top;
  }

  private _grow(): void {
    const n = this._keys.length * 2;
    const keys = new Float64Array(n);
    keys.set(this._keys);
    const values = new Int32Array(n);
    values.set(this._values);
    this._keys = keys;
    this._values = values;
  }
}

/**
 * "Untidy" priority queue for monotone front propagation (Yatziv, Bartesaghi & Sapiro, "O(N)
 * implementation of the fast marching algorithm", J. Comput. Phys. 212, 2006): keys are quantised into
 * buckets of width `delta`, kept in a circular array; pop returns an entry from the lowest non-empty
 * bucket (first in, first out inside a bucket). Push and pop are O(1).
 *
 * Valid only for monotone use, as in fast marching: every key pushed is < the current bucket's key +
 * `span`, and ≥ it once popping has started from that bucket (a smaller key then joins the current
 * bucket). Entries then leave in key order up to `delta`. Before the first pop, keys may come in any
 * order within `span` of each other.
 */
export class BucketQueue {
  private readonly _delta: number;
  private readonly _inv: number;
  private readonly _n: number;
  private readonly _lists: Int32Array[];
  private readonly _len: Int32Array;
  private readonly _head: Int32Array;
  private _cur = 0;
  private _curKey = 0;
  private _top = 0;
  private _size = 0;

  /**
   * @param delta bucket width (key units), > 0.
   * @param span largest amount by which a pushed key may exceed the current bucket's key.
   */
  constructor(delta: number, span: number) {
    this._delta = delta;
    this._inv = 1 / delta;
    this._n = Math.ceil(span / delta) + 2;
    this._lists = Array.from({ length: this._n }, () => new Int32Array(256));
    this._len = new Int32Array(this._n);
    this._head = new Int32Array(this._n);
  }

  get size(): number {
    return this._size;
  }

  /** Lower key bound of the bucket currently being popped. */
  get currentKey(): number {
    return this._curKey * this._delta;
  }

  /** Adds a value with the given key (see the class contract on keys). */
  push(key: number, value: number): void {
    let b = Math.floor(key * this._inv);
    if (this._size === 0) {
      // Start afresh at this key's bucket.
      this._head[this._cur] = 0;
      this._len[this._cur] = 0;
      this._curKey = b;
      this._top = b;
    } else if (b < this._curKey) {
      if (this._head[this._cur] === 0 && this._top - b < this._n) {
        // Nothing popped from the current bucket yet (e.g. seeds pushed in any order): the buckets
        // below it are empty, so the start can move down to this key.
        this._cur = (((this._cur - (this._curKey - b)) % this._n) + this._n) % this._n;
        this._curKey = b;
      } else {
        b = this._curKey; // a key slightly below the bucket being popped joins it
      }
    }
    if (b > this._top) this._top = b;
    if (b - this._curKey >= this._n) {
      throw new RangeError(`BucketQueue: key ${key} exceeds the current key ${this.currentKey} by more than the span`);
    }
    const slot = (this._cur + (b - this._curKey)) % this._n;
    let list = this._lists[slot];
    const len = this._len[slot];
    if (len === list.length) {
      const grown = new Int32Array(list.length * 2);
      grown.set(list);
      this._lists[slot] = list = grown;
    }
    list[len] = value;
    this._len[slot] = len + 1;
    this._size++;
  }

  /** Removes and returns a value from the lowest non-empty bucket; −1 when empty. */
  pop(): number {
    if (this._size === 0) return -1;
    let cur = this._cur;
    while (this._head[cur] === this._len[cur]) {
      this._head[cur] = 0;
      this._len[cur] = 0;
      cur = cur + 1 === this._n ? 0 : cur + 1;
      this._curKey++;
    }
    this._cur = cur;
    this._size--;
    return this._lists[cur][this._head[cur]++];
  }

  /** Removes every entry. */
  clear(): void {
    this._len.fill(0);
    this._head.fill(0);
    this._size = 0;
    this._curKey = 0;
    this._top = 0;
    this._cur = 0;
  }
}
