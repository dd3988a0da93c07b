import type { Attribution } from './types.js';

/**
 * Suffixes a provider may append to the requested id when it resolves an alias to a pinned
 * snapshot. Anything not listed here is a different model.
 *
 *  - `-2025-08-07`   ISO date (OpenAI snapshots)
 *  - `-20240229`     compact date (Anthropic-style)
 *  - `-0613` `-001`  3–4 digit snapshot numbers (OpenAI legacy, Gemini)
 *  - `-v1` `-v2.1` `-v1:0` explicit version tags
 *  - `:latest`       Ollama's default tag
 */
const ALIAS_SUFFIX = /^(?:-\d{4}-\d{2}-\d{2}|-\d{8}|-\d{3,4}|-v\d+(?:\.\d+)*(?::\d+)?|:latest)$/;

function norm(s: string): string {
  return s.trim().toLowerCase();
}

function splitOrg(id: string): { org: string | null; name: string } {
  const i = id.indexOf('/');
  if (i <= 0) return { org: null, name: id };
  return { org: id.slice(0, i), name: id.slice(i + 1) };
}

function isSuffixAlias(requested: string, response: string): boolean {
  return response.startsWith(requested) && ALIAS_SUFFIX.test(response.slice(requested.length));
}

/**
 * Decide whether the model a provider says answered is the model that was requested.
 *
 * Rule (compared case-insensitively, after trimming whitespace):
 *  1. `responseModel` null, empty or blank → `unknown` (the provider did not say).
 *  2. identical ids → `match`.
 *  3. the response is the requested id plus ONE pinned-version suffix — an ISO date
 *     (`-2025-08-07`), a compact date (`-20240229`), a 3–4 digit snapshot (`-0613`, `-001`),
 *     a version tag (`-v1`, `-v2.1`, `-v1:0`) or Ollama's `:latest` → `alias`.
 *  4. an `org/` prefix present on exactly one side (Hugging Face `Qwen/Qwen2.5-7B-Instruct`
 *     answered as `qwen2.5-7b-instruct`, or OpenRouter's `openai/gpt-5-mini` for `gpt-5-mini`)
 *     is ignored, and then 2 or 3 holding → `alias` (never `match`: the ids differ).
 *     Two different orgs are never reconciled.
 *  5. anything else → `mismatch`: another family (`gpt-4o` for `gpt-5-mini`), a sibling
 *     (`gpt-5` or `gpt-5-mini-high` for `gpt-5-mini`), or a less specific name than the one
 *     requested (`gpt-5-mini` for `gpt-5-mini-2025-08-07`: the pinned snapshot cannot be
 *     confirmed).
 */
export function attributionOf(requestedModel: string, responseModel: string | null | undefined): Attribution {
  if (responseModel == null || responseModel.trim() === '') return 'unknown';
  const req = norm(requestedModel);
  const res = norm(responseModel);
  if (req === res) return 'match';
  if (isSuffixAlias(req, res)) return 'alias';
  const a = splitOrg(req);
  const b = splitOrg(res);
  if ((a.org === null) !== (b.org === null)) {
    if (a.name === b.name || isSuffixAlias(a.name, b.name)) return 'alias';
  }
  return 'mismatch';
}
