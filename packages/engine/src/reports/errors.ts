import { EngineInputError, NotFoundError } from '../errors.js';

/** A run (or other record) a report names does not exist. */
export class ReportNotFoundError extends NotFoundError {
  override name = 'ReportNotFoundError';
}

/** Bad report input; `field` names the input field at fault. */
export class ReportInputError extends EngineInputError {
  override name = 'ReportInputError';
}
