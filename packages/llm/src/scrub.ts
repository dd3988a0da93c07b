// Removes a call's key from everything the provider sent back, before it leaves this package: a
// provider may echo the key whole, cut short, inside its `model` or `usage`, in an error body, or
// base64- or URL-encoded (an echoed Authorization header). Every 8-character piece of the key and
// of those encodings is looked for, so any run of 8 or more characters of the key goes, wherever
// it starts. Every call's output passes through here: the scan is one rolling hash per character
// of the text, and a Set lookup; the piece itself is compared only when the hash matches.
//
// It also makes provider text storable: NUL and lone surrogates (which PostgreSQL refuses, and
// which no client can show) become U+FFFD.

/** Pieces of the key this long or longer are removed. */
export const SECRET_PIECE = 8;
/** Keys shorter than a piece are removed only whole, and only from this length up. */
const MIN_SECRET = 4;
export const SCRUBBED = '***';
/** How deep scrubJson follows a provider's JSON (usage objects are two or three levels deep). */
export const MAX_JSON_DEPTH = 32;

const B = 0x01000193;
const B_POW = (() => {
  let p = 1;
  for (let i = 1; i < SECRET_PIECE; i++) p = Math.imul(p, B);
  return p;
})();

function hashAt(s: string, start: number): number {
  let h = 0;
  for (let i = start; i < start + SECRET_PIECE; i++) h = (Math.imul(h, B) + s.charCodeAt(i)) | 0;
  return h;
}

const UNSTORABLE = /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const HAS_UNSTORABLE = /[\0\uD800-\uDFFF]/;

/** `s` with NUL and lone surrogates replaced by U+FFFD. */
export function storableText(s: string): string {
  return HAS_UNSTORABLE.test(s) ? s.replace(UNSTORABLE, '\uFFFD') : s;
}

/**
 * The base64 (and base64url) text of `bytes` as it appears inside any larger base64 text: at each
 * of the three byte alignments, only the characters that depend on `bytes` alone.
 */
function base64Forms(bytes: Buffer): string[] {
  const out: string[] = [];
  for (let offset = 0; offset < 3; offset++) {
    const b64 = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
    const first = Math.ceil((offset * 8) / 6);
    const determined = Math.floor(((offset + bytes.length) * 8) / 6);
    const form = b64.slice(first, determined);
    out.push(form, form.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return out;
}

/** The forms of a key a provider may echo: as it is, base64 (the Authorization header too), URL- and JSON-escaped. */
function secretForms(secret: string): string[] {
  const forms = new Set([secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)]);
  for (const f of base64Forms(Buffer.from(secret, 'utf8'))) forms.add(f);
  for (const f of base64Forms(Buffer.from(`Bearer ${secret}`, 'utf8'))) forms.add(f);
  return [...forms].filter((f) => f.length > 0);
}

export class SecretScrubber {
  private readonly pieces = new Set<string>();
  private readonly hashes = new Set<number>();
  /** One bit per value of a hash's top 16 bits: most windows are ruled out here, before the Set. */
  private readonly seen = new Uint8Array(8192);
  private readonly whole: string[] = [];

  /** `secret` undefined: only makes text storable. */
  constructor(secret?: string) {
    if (!secret || secret.length < MIN_SECRET) return;
    for (const form of secretForms(secret)) {
      if (secret.length < SECRET_PIECE) {
        this.whole.push(form);
        continue;
      }
      for (let i = 0; i + SECRET_PIECE <= form.length; i++) {
        this.pieces.add(form.slice(i, i + SECRET_PIECE));
        const h = hashAt(form, i);
        this.hashes.add(h);
        this.seen[h >>> 19]! |= 1 << ((h >>> 16) & 7);
      }
    }
  }

  /** `text` without any piece of the key (each run of them becomes `***`), storable. */
  scrub(text: string): string {
    let out = storableText(text);
    if (this.hashes.size && out.length >= SECRET_PIECE) out = this.withoutPieces(out);
    for (const w of this.whole) if (out.includes(w)) out = out.split(w).join(SCRUBBED);
    return out;
  }

  /** A provider's JSON (usage) with every string and key scrubbed; past MAX_JSON_DEPTH a marker. */
  scrubJson(value: unknown, depth = 0): unknown {
    if (typeof value === 'string') return this.scrub(value);
    if (value === null || typeof value !== 'object') return value;
    if (depth >= MAX_JSON_DEPTH) return '[nested too deep]';
    if (Array.isArray(value)) return value.map((v) => this.scrubJson(v, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      // defineProperty: a "__proto__" key from JSON.parse stays a key, not a prototype.
      Object.defineProperty(out, this.scrub(k), {
        value: this.scrubJson(v, depth + 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }

  private withoutPieces(text: string): string {
    const last = text.length - SECRET_PIECE;
    let h = hashAt(text, 0);
    let result = '';
    let copied = 0; // text before this index is in `result`
    let runStart = -1;
    let runEnd = -1; // the run of covered characters being built: [runStart, runEnd)
    for (let i = 0; ; i++) {
      const seen = this.seen[h >>> 19]! & (1 << ((h >>> 16) & 7));
      if (seen && this.hashes.has(h) && this.pieces.has(text.slice(i, i + SECRET_PIECE))) {
        if (runStart >= 0 && i <= runEnd) runEnd = i + SECRET_PIECE;
        else {
          if (runStart >= 0) {
            result += text.slice(copied, runStart) + SCRUBBED;
            copied = runEnd;
          }
          runStart = i;
          runEnd = i + SECRET_PIECE;
        }
      }
      if (i === last) break;
      h = (Math.imul((h - Math.imul(text.charCodeAt(i), B_POW)) | 0, B) + text.charCodeAt(i + SECRET_PIECE)) | 0;
    }
    if (runStart < 0) return text;
    return result + text.slice(copied, runStart) + SCRUBBED + text.slice(runEnd);
  }
}

const NO_SECRET = new SecretScrubber();
const cache = new Map<string, SecretScrubber>();

/** The scrubber for a key, kept for the next calls with the same key (a run makes thousands). */
export function scrubberFor(secret: string | undefined): SecretScrubber {
  if (!secret) return NO_SECRET;
  let s = cache.get(secret);
  if (!s) {
    if (cache.size >= 32) cache.delete(cache.keys().next().value!);
    s = new SecretScrubber(secret);
    cache.set(secret, s);
  }
  return s;
}
