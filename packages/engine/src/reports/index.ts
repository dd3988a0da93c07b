export { auditRun, type AuditReport, type AuditFinding, type FindingKind } from './audit.js';
export {
  compareRuns,
  type CompareReport,
  type CompareColumn,
  type CompareAggregate,
  type CompareCell,
  type CompareRow,
} from './compare.js';
export { exportRun, csvField, EXPORT_COLUMNS } from './export.js';
export { ReportInputError, ReportNotFoundError } from './errors.js';
export { percentile } from './stats.js';
