/**
 * A view of an object that must not be changed, all the way down: what the store hands to hot
 * read paths instead of a deep copy (MemoryStore.peek, watch filters). The compiler refuses a
 * write through it; a copy is still one cloneObject away for a caller that needs to change it.
 */
export type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends Uint8Array
    ? Readonly<T>
    : T extends Map<infer K, infer V>
      ? ReadonlyMap<K, DeepReadonly<V>>
      : T extends object
        ? { readonly [P in keyof T]: DeepReadonly<T[P]> }
        : T;
