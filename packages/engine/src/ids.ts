import { randomUUID } from 'node:crypto';

// The random bits come from randomUUID, which draws on a buffered pool of entropy: a fresh
// randomBytes(16) per id was a synchronous native call for each of three ids per call.
// A v4 UUID is xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx; its variant nibble V is already v7's.
const hex12 = (ms: number) => ms.toString(16).padStart(12, '0');

/** UUIDv7: time-ordered, so ids double as a stable cursor order (RFC 9562). */
export function uuidv7(now = Date.now()): string {
  const t = hex12(now);
  return `${t.slice(0, 8)}-${t.slice(8)}-7${randomUUID().slice(15)}`;
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
    const t = hex12(ms);
    return `${t.slice(0, 8)}-${t.slice(8)}-7${counter.toString(16).padStart(3, '0')}${randomUUID().slice(18)}`;
  };
}
