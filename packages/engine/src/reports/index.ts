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
export { percentile } from './stats.js';
