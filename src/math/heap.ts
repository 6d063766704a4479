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
