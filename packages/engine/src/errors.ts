// The errors callers can act on. The API maps them: EngineInputError → BAD_REQUEST naming its
// field, NotFoundError → NOT_FOUND, ShuttingDownError → SERVICE_UNAVAILABLE. Every engine module
// (reports included) throws these kinds.

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

export class NotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotFoundError';
  }
}

/** The engine is shutting down: it starts no run and no call (try again once the server is back). */
export class ShuttingDownError extends Error {
  constructor(what: string) {
    super(`the server is shutting down and starts no new ${what}; try again once it is back`);
    this.name = 'ShuttingDownError';
  }
}
