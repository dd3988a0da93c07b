export { type AssertsResult, assertFromText, parseAsserts } from './asserts.js';
export { fillRubric, JUDGE_SYSTEM_PROMPT, type JudgeMessage, judgeMessages, readVerdict } from './judge.js';
export {
  errored,
  failed,
  numberIn,
  oneLine,
  passed,
  type ScoreInput,
  type ScoreResult,
  type ScoreStatus,
  scoreLocal,
} from './scorers.js';
export {
  type JudgeSpec,
  MAX_REGEX_CHARS,
  MAX_RUBRIC_CHARS,
  MAX_SCHEMA_CHARS,
  MAX_SCORER_VALUE_CHARS,
  MAX_SCORERS,
  SCORER_TYPES,
  type ScorerSpec,
  type ScorerType,
  scorerList,
  scorerNameOf,
  scorerSpec,
} from './spec.js';
export * from './stats.js';
