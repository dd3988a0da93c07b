// Defaults the layers above share, in a module with no imports: the browser-safe schemas of
// @batchlight/api read them too.

/** How long one model call may take, from its request to the end of its answer, unless the caller says. */
export const DEFAULT_TIMEOUT_MS = 60_000;
