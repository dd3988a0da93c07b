export { type AuditFinding, type AuditReport, type AuditVerdict, auditRun, type FindingKind } from './audit.js';
export {
  type CompareAggregate,
  type CompareCell,
  type CompareColumn,
  type CompareReport,
  type CompareRow,
  compareRuns,
} from './compare.js';
export { type CsvRecord, csvRecords } from './csv.js';
export { csvField, EXPORT_COLUMNS, exportRun } from './export.js';
export {
  compareScores,
  type ItemVerdict,
  type JudgeCost,
  type ModelScores,
  type RunScores,
  runScores,
  type ScoreComparison,
  type ScorerSummary,
} from './scores.js';
export { percentile } from './stats.js';
