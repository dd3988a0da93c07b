// The errors callers can act on. The API maps them, each naming its field where it has one:
// EngineInputError → BAD_REQUEST, NotFoundError → NOT_FOUND, ConflictError → CONFLICT,
// ShuttingDownError → SERVICE_UNAVAILABLE. Every engine module (reports included) throws these kinds.

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

/** The engine is shutting down: it starts no run and no call (try again once the server is back). */
export class ShuttingDownError extends Error {
  constructor(what: string) {
    super(`the server is shutting down and starts no new ${what}; try again once it is back`);
    this.name = 'ShuttingDownError';
  }
}
