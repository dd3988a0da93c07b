export class ReportNotFoundError extends Error {
  override name = 'ReportNotFoundError';
}

/** Bad report input; `field` names the input field at fault. */
export class ReportInputError extends Error {
  override name = 'ReportInputError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}
