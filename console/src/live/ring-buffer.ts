/** Keeps the newest `capacity` items; older ones are overwritten, nothing is ever copied on push. */
export type Ring<T> = { push(item: T): void; newestFirst(): T[]; readonly size: number };

export function createRing<T>(capacity: number): Ring<T> {
  const items: T[] = new Array(capacity);
  let next = 0;
  let size = 0;
  return {
    push(item) {
      items[next] = item;
      next = (next + 1) % capacity;
      if (size < capacity) size++;
    },
    newestFirst() {
      const out: T[] = [];
      for (let i = 1; i <= size; i++) out.push(items[(next - i + capacity) % capacity]!);
      return out;
    },
    get size() {
      return size;
    },
  };
}
