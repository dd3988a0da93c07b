// Provider keys stored in the database are encrypted at rest (AES-256-GCM) with a key derived
// from BATCHLIGHT_SECRET_KEY. The API only ever shows `maskSecret`'s hint.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const keyOf = (secretKey: string) => createHash('sha256').update(secretKey).digest();

export function encryptSecret(plain: string, secretKey: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyOf(secretKey), iv);
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return ['v1', iv.toString('base64'), cipher.getAuthTag().toString('base64'), body.toString('base64')].join(':');
}

export function decryptSecret(stored: string, secretKey: string): string {
  const [version, iv, tag, body] = stored.split(':');
  if (version !== 'v1' || !iv || !tag || !body) throw new Error('stored credential is not in a known format');
  const decipher = createDecipheriv('aes-256-gcm', keyOf(secretKey), Buffer.from(iv, 'base64'));
  decipher.setAuthTag(Buffer.from(tag, 'base64'));
  try {
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]).toString('utf8');
  } catch {
    throw new Error(
      'stored credential cannot be decrypted: BATCHLIGHT_SECRET_KEY differs from the one it was saved with',
    );
  }
}

/** "sk-…a1b2": enough to tell keys apart, never enough to use one. */
export function maskSecret(plain: string): string {
  if (plain.length <= 8) return '••••';
  const prefix = /^[a-z]{2,4}[-_]/i.exec(plain)?.[0] ?? '';
  return `${prefix}…${plain.slice(-4)}`;
}
