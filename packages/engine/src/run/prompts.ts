import type { ChatMessage } from '@batchlight/llm';

/** A prompt's stored input is a string or a list of chat messages. */
export function toMessages(input: unknown): ChatMessage[] {
  if (typeof input === 'string') return [{ role: 'user', content: input }];
  if (Array.isArray(input)) return input as ChatMessage[];
  throw new Error('prompt input must be a string or a list of chat messages');
}

/** The text shown for a prompt in tables and exports. */
export function promptText(input: unknown): string {
  if (typeof input === 'string') return input;
  return toMessages(input)
    .map((m) => (m.role === 'user' ? m.content : `[${m.role}] ${m.content}`))
    .join('\n');
}
