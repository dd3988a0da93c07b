// The errors callers can act on. The API maps them: EngineInputError → BAD_REQUEST,
// NotFoundError → NOT_FOUND, ConflictError → CONFLICT, each naming its field. Every engine
// module (reports included) throws these kinds.

/** Bad input the caller can fix; `field` names the input field at fault. */
export class EngineInputError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'EngineInputError';
  }
}

/** What `field` names does not exist. */
export class NotFoundError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'NotFoundError';
  }
}

/** What `field` names exists but is in a state that does not allow the call (a finished run's cancel). */
export class ConflictError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'ConflictError';
  }
}
