-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Trace" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "runId" TEXT,
    "modelId" TEXT NOT NULL,
    "itemId" TEXT,
    "modelRevision" INTEGER NOT NULL,
    "provider" TEXT NOT NULL,
    "requestedModel" TEXT NOT NULL,
    "responseModel" TEXT,
    "servedBy" TEXT,
    "attribution" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "attempt" INTEGER NOT NULL DEFAULT 1,
    "errorType" TEXT,
    "errorMessage" TEXT,
    "httpStatus" INTEGER,
    "startedAt" DATETIME NOT NULL,
    "firstTokenAt" DATETIME,
    "endedAt" DATETIME,
    "latencyMs" REAL,
    "ttftMs" REAL,
    "inputTokens" INTEGER,
    "outputTokens" INTEGER,
    "cachedInputTokens" INTEGER,
    "reasoningTokens" INTEGER,
    "costUsd" REAL,
    "costSource" TEXT NOT NULL DEFAULT 'unknown',
    "rawUsage" JSONB,
    "input" JSONB NOT NULL,
    "output" TEXT,
    "outputTruncated" BOOLEAN NOT NULL DEFAULT false,
    "outputChars" INTEGER,
    CONSTRAINT "Trace_modelId_fkey" FOREIGN KEY ("modelId") REFERENCES "Model" ("id") ON DELETE RESTRICT ON UPDATE CASCADE,
    CONSTRAINT "Trace_runId_modelId_fkey" FOREIGN KEY ("runId", "modelId") REFERENCES "RunModel" ("runId", "modelId") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "Trace_itemId_fkey" FOREIGN KEY ("itemId") REFERENCES "RunItem" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_Trace" ("attempt", "attribution", "cachedInputTokens", "costSource", "costUsd", "endedAt", "errorMessage", "errorType", "firstTokenAt", "httpStatus", "id", "input", "inputTokens", "itemId", "latencyMs", "modelId", "modelRevision", "output", "outputTokens", "provider", "rawUsage", "reasoningTokens", "requestedModel", "responseModel", "runId", "servedBy", "startedAt", "status", "ttftMs") SELECT "attempt", "attribution", "cachedInputTokens", "costSource", "costUsd", "endedAt", "errorMessage", "errorType", "firstTokenAt", "httpStatus", "id", "input", "inputTokens", "itemId", "latencyMs", "modelId", "modelRevision", "output", "outputTokens", "provider", "rawUsage", "reasoningTokens", "requestedModel", "responseModel", "runId", "servedBy", "startedAt", "status", "ttftMs" FROM "Trace";
DROP TABLE "Trace";
ALTER TABLE "new_Trace" RENAME TO "Trace";
CREATE INDEX "Trace_runId_modelId_idx" ON "Trace"("runId", "modelId");
CREATE INDEX "Trace_runId_status_idx" ON "Trace"("runId", "status");
CREATE INDEX "Trace_itemId_idx" ON "Trace"("itemId");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;
