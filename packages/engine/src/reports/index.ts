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
export { csvField, decimalText, EXPORT_COLUMNS, exportNumber, exportRun } from './export.js';
export {
  MATRIX_MAX_LIMIT,
  type MatrixCell,
  type MatrixColumn,
  type MatrixPage,
  type MatrixQuery,
  type MatrixRow,
  type MatrixScore,
  runMatrix,
} from './matrix.js';
export * from './matrix-fields.js';
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
