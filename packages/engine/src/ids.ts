import { randomBytes } from 'node:crypto';

function format(b: Buffer): string {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** UUIDv7: time-ordered, so ids double as a stable cursor order (RFC 9562). */
export function uuidv7(now = Date.now()): string {
  const b = randomBytes(16);
  b.writeUIntBE(now, 0, 6);
  b[6] = (b[6]! & 0x0f) | 0x70;
  b[8] = (b[8]! & 0x3f) | 0x80;
  return format(b);
}

/**
 * UUIDv7s that sort in the order they were made, even within one millisecond (a 12-bit counter
 * in rand_a, RFC 9562 method 1): a run's items are paged in id order, which is creation order.
 */
export function monotonicUuidv7(): () => string {
  let lastMs = 0;
  let counter = 0;
  return () => {
    let ms = Date.now();
    if (ms <= lastMs) {
      counter++;
      if (counter > 0xfff) {
        lastMs++;
        counter = 0;
      }
      ms = lastMs;
    } else {
      lastMs = ms;
      counter = 0;
    }
    const b = randomBytes(16);
    b.writeUIntBE(ms, 0, 6);
    b[6] = 0x70 | (counter >> 8);
    b[7] = counter & 0xff;
    b[8] = (b[8]! & 0x3f) | 0x80;
    return format(b);
  };
}
