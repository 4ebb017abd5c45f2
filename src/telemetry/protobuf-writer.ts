import type { Attributes, HrTime } from '@opentelemetry/api';

/**
 * A growing byte buffer with the few protobuf writes an OTLP span needs (opentelemetry-proto's wire
 * format: varints, fixed32/64, length-delimited fields). Its writes match otlp-transformer's
 * ProtobufWriter byte for byte; decision-protobuf.test.ts holds the two equal.
 */
export type ProtobufWriter = {
  /** Bytes written since the last `reset`. */
  readonly length: () => number;
  /** Starts over; a buffer grown past `keepAtMost` bytes is let go, so one huge batch is not kept. */
  reset(keepAtMost?: number): void;
  /** A copy of what was written: the caller's to keep while the writer goes on. */
  copy(): Uint8Array;
  byte(b: number): void;
  bytes(b: Uint8Array): void;
  varint(v: number): void;
  fixed32(v: number): void;
  /** An HrTime as fixed64 nanoseconds since the epoch, in two 32-bit halves (no BigInt). */
  hrTime(t: HrTime): void;
  /** `hrTime` of a time held as its two parts, so none is made as an array. */
  time(seconds: number, nanos: number): void;
  /** 2n hex digits as n bytes. */
  hex(h: string): void;
  /** `hex` of the digits `h` holds from `from` to `to` (an even count), without slicing them out. */
  hexRange(h: string, from: number, to: number): void;
  /** A length-prefixed UTF-8 string. */
  string(s: string): void;
  /** A length-prefixed UTF-8 string that begins with `prefix` (bytes made once), without joining them. */
  prefixedString(prefix: Uint8Array, s: string): void;
  /** Reserves a byte for a message's length; `finishLength` writes it, moving the message on when it needs more. */
  startLength(): number;
  finishLength(at: number): void;
  /**
   * Each attribute as a KeyValue (key 1, AnyValue 2) under `tag`, sized before it is written. False at
   * a value it does not take (a negative, fractional or huge number, a list): the caller then hands
   * the batch to the official serializer. A decision's attributes are strings, booleans and its hop.
   */
  attributes(tag: number, attributes: Attributes): boolean;
  /** One string attribute under `tag`, its key looked up once by the caller (`attributeKey`). */
  stringAttribute(tag: number, key: AttributeKey, value: string): void;
  booleanAttribute(tag: number, key: AttributeKey, value: boolean): void;
  /** False for a number it does not take (negative, fractional, 2^31 or more): see `attributes`. */
  integerAttribute(tag: number, key: AttributeKey, value: number): boolean;
  /** A string-valued KeyValue's length and body (AnyValue.string_value, 1). */
  stringKeyValue(key: AttributeKey, value: string): void;
};

export function createProtobufWriter(size: number): ProtobufWriter {
  let buf = new Uint8Array(size);
  let pos = 0;

  const room = (n: number) => {
    if (pos + n <= buf.length) return;
    let grown = buf.length * 2;
    while (grown < pos + n) grown *= 2;
    const next = new Uint8Array(grown);
    next.set(buf.subarray(0, pos));
    buf = next;
  };
  const byte = (b: number) => {
    room(1);
    buf[pos++] = b;
  };
  const bytes = (b: Uint8Array) => {
    const n = b.length;
    room(n);
    // A loop beats set() for the few bytes of a key or a kept value.
    if (n > 64) buf.set(b, pos);
    else for (let i = 0; i < n; i++) buf[pos + i] = b[i]!;
    pos += n;
  };
  const varint = (v: number) => {
    room(5);
    while (v > 127) {
      buf[pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[pos++] = v;
  };
  const fixed32 = (v: number) => {
    room(4);
    buf[pos++] = v & 0xff;
    buf[pos++] = (v >>> 8) & 0xff;
    buf[pos++] = (v >>> 16) & 0xff;
    buf[pos++] = (v >>> 24) & 0xff;
  };
  const stringOf = (s: string, length: number, withLength = true) => {
    if (withLength) varint(length);
    room(length);
    if (length === s.length) for (let i = 0; i < length; i++) buf[pos++] = s.charCodeAt(i);
    else pos += utf8.encodeInto(s, buf.subarray(pos)).written;
  };
  const keyValue = (key: AttributeKey, any: number) => {
    const { field } = key;
    varint(field.length + 1 + varintSize(any) + any);
    bytes(field);
    byte(0x12);
    varint(any);
  };
  const stringKeyValue = (key: AttributeKey, value: string) => {
    const length = utf8Length(value);
    keyValue(key, 1 + varintSize(length) + length);
    byte(0x0a);
    stringOf(value, length);
  };
  const stringAttribute = (tag: number, key: AttributeKey, value: string) => {
    byte(tag);
    const kept = keptKeyValue(key, value);
    if (kept !== undefined) bytes(kept);
    else stringKeyValue(key, value);
  };
  const booleanAttribute = (tag: number, key: AttributeKey, value: boolean) => {
    byte(tag);
    keyValue(key, 2); // AnyValue.bool_value (2)
    byte(0x10);
    byte(value ? 1 : 0);
  };
  const integerAttribute = (tag: number, key: AttributeKey, value: number) => {
    if (!Number.isInteger(value) || value < 0 || value >= 2 ** 31) return false;
    byte(tag);
    keyValue(key, 1 + varintSize(value)); // AnyValue.int_value (3)
    byte(0x18);
    varint(value);
    return true;
  };
  const hexRange = (h: string, from: number, to: number) => {
    room((to - from) >>> 1);
    for (let i = from; i + 1 < to; i += 2)
      buf[pos++] = (NIBBLES[h.charCodeAt(i) & 0x7f]! << 4) | NIBBLES[h.charCodeAt(i + 1) & 0x7f]!;
  };
  const time = (seconds: number, nanos: number) => {
    // seconds × 1e9 + nanos, split so no step leaves the doubles' 53 exact bits.
    const lowSeconds = (seconds & 0xffff) * 1e9;
    const highSeconds = Math.floor(seconds / 0x10000) * 1e9;
    const low = (lowSeconds >>> 0) + (((highSeconds & 0xffff) * 0x10000) >>> 0) + nanos;
    const high =
      Math.floor(lowSeconds / 0x100000000) +
      Math.floor(highSeconds / 0x10000) +
      Math.floor(low / 0x100000000);
    fixed32(low >>> 0);
    fixed32(high >>> 0);
  };

  return {
    length: () => pos,
    reset(keepAtMost = Number.POSITIVE_INFINITY) {
      pos = 0;
      if (buf.length > keepAtMost) buf = new Uint8Array(size);
    },
    copy: () => buf.slice(0, pos),
    byte,
    bytes,
    varint,
    fixed32,
    hrTime: ([seconds, nanos]) => time(seconds, nanos),
    time,
    hex: (h) => hexRange(h, 0, h.length),
    hexRange,
    string: (s) => stringOf(s, utf8Length(s)),
    prefixedString(prefix, s) {
      const length = utf8Length(s);
      varint(prefix.length + length);
      bytes(prefix);
      stringOf(s, length, false);
    },
    startLength() {
      room(1);
      return pos++;
    },
    finishLength(at) {
      const length = pos - at - 1;
      const size = varintSize(length);
      if (size > 1) {
        room(size - 1);
        buf.copyWithin(at + size, at + 1, pos);
        pos += size - 1;
      }
      let v = length;
      let i = at;
      while (v > 127) {
        buf[i++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      buf[i] = v;
    },
    attributes(tag, attributes) {
      for (const name in attributes) {
        const value = attributes[name];
        const key = attributeKey(name);
        if (typeof value === 'string') stringAttribute(tag, key, value);
        else if (typeof value === 'boolean') booleanAttribute(tag, key, value);
        else if (typeof value !== 'number' || !integerAttribute(tag, key, value)) return false;
      }
      return true;
    },
    stringAttribute,
    booleanAttribute,
    integerAttribute,
    stringKeyValue,
  };
}

const utf8 = new TextEncoder();

/**
 * An attribute key as the writer needs it: its KeyValue.key field (tag, length, UTF-8), made once,
 * and the whole KeyValues (length and body) of short string values that repeat from span to span: a
 * verdict, a stage, the policy digest, an agent's name and version, a message type. A key whose
 * values do not repeat (message and case ids, subjects) stops keeping them once it has VALUES_KEPT,
 * and a long value (a detail) is never kept: what is kept stays small and is written in one copy.
 */
export type AttributeKey = {
  readonly field: Uint8Array;
  /** Undefined once the key's values are not kept. */
  values: Map<string, Uint8Array> | undefined;
};

const VALUES_KEPT = 256;
const LONGEST_KEPT = 96;

/** Keys by name: the span's own (a fixed set) and the resource's; bounded, not trusted to be. */
const keys = new Map<string, AttributeKey>();

/** A key's writer form; a caller that writes one key often holds it (decision-protobuf.ts). */
export function attributeKey(name: string): AttributeKey {
  let key = keys.get(name);
  if (key === undefined) {
    const bytes = utf8.encode(name);
    key = { field: new Uint8Array([0x0a, ...varintBytes(bytes.length), ...bytes]), values: new Map() };
    if (keys.size < 1024) keys.set(name, key);
  }
  return key;
}

let scratch: ProtobufWriter | undefined;

/** A KeyValue's length and body, written once: for a value that never changes, or to be kept. */
export function stringKeyValueBytes(key: AttributeKey, value: string): Uint8Array {
  scratch ??= createProtobufWriter(256);
  scratch.reset();
  scratch.stringKeyValue(key, value);
  return scratch.copy();
}

function keptKeyValue(key: AttributeKey, value: string): Uint8Array | undefined {
  const { values } = key;
  if (values === undefined || value.length > LONGEST_KEPT) return undefined;
  let kept = values.get(value);
  if (kept !== undefined) return kept;
  if (values.size >= VALUES_KEPT) {
    key.values = undefined;
    return undefined;
  }
  kept = stringKeyValueBytes(key, value);
  values.set(value, kept);
  return kept;
}

function varintBytes(v: number): number[] {
  const out: number[] = [];
  while (v > 127) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return out;
}

function varintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

/** ASCII strings (nearly every value) are measured and copied by hand; the rest by the TextEncoder. */
function utf8Length(s: string): number {
  const n = s.length;
  for (let i = 0; i < n; i++) if (s.charCodeAt(i) >= 0x80) return Buffer.byteLength(s, 'utf8');
  return n;
}

/** Each hex digit's value by its char code: a lookup is about twice as fast as the arithmetic. */
const NIBBLES = new Uint8Array(128);
for (let d = 0; d < 16; d++) {
  NIBBLES['0123456789abcdef'.charCodeAt(d)] = d;
  NIBBLES['0123456789ABCDEF'.charCodeAt(d)] = d;
}
