-- AlterTable
ALTER TABLE "Prompt" ADD COLUMN "asserts" JSONB;

-- AlterTable
ALTER TABLE "Run" ADD COLUMN "scorers" JSONB;

-- CreateTable
CREATE TABLE "Score" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "runId" TEXT NOT NULL,
    "itemId" TEXT NOT NULL,
    "scorer" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "score" REAL,
    "reason" TEXT NOT NULL,
    "judgeTraceId" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "Score_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "Score_itemId_fkey" FOREIGN KEY ("itemId") REFERENCES "RunItem" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "Score_judgeTraceId_fkey" FOREIGN KEY ("judgeTraceId") REFERENCES "Trace" ("id") ON DELETE SET NULL ON UPDATE CASCADE
);

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
    "finishReason" TEXT,
    "judgedTraceId" TEXT,
    CONSTRAINT "Trace_modelId_fkey" FOREIGN KEY ("modelId") REFERENCES "Model" ("id") ON DELETE RESTRICT ON UPDATE CASCADE,
    CONSTRAINT "Trace_runId_modelId_fkey" FOREIGN KEY ("runId", "modelId") REFERENCES "RunModel" ("runId", "modelId") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "Trace_itemId_fkey" FOREIGN KEY ("itemId") REFERENCES "RunItem" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "Trace_judgedTraceId_fkey" FOREIGN KEY ("judgedTraceId") REFERENCES "Trace" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_Trace" ("attempt", "attribution", "cachedInputTokens", "costSource", "costUsd", "endedAt", "errorMessage", "errorType", "finishReason", "firstTokenAt", "httpStatus", "id", "input", "inputTokens", "itemId", "latencyMs", "modelId", "modelRevision", "output", "outputChars", "outputTokens", "outputTruncated", "provider", "rawUsage", "reasoningTokens", "requestedModel", "responseModel", "runId", "servedBy", "startedAt", "status", "ttftMs") SELECT "attempt", "attribution", "cachedInputTokens", "costSource", "costUsd", "endedAt", "errorMessage", "errorType", "finishReason", "firstTokenAt", "httpStatus", "id", "input", "inputTokens", "itemId", "latencyMs", "modelId", "modelRevision", "output", "outputChars", "outputTokens", "outputTruncated", "provider", "rawUsage", "reasoningTokens", "requestedModel", "responseModel", "runId", "servedBy", "startedAt", "status", "ttftMs" FROM "Trace";
DROP TABLE "Trace";
ALTER TABLE "new_Trace" RENAME TO "Trace";
CREATE INDEX "Trace_runId_modelId_idx" ON "Trace"("runId", "modelId");
CREATE INDEX "Trace_runId_status_idx" ON "Trace"("runId", "status");
CREATE INDEX "Trace_itemId_idx" ON "Trace"("itemId");
CREATE INDEX "Trace_judgedTraceId_idx" ON "Trace"("judgedTraceId");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE UNIQUE INDEX "Score_judgeTraceId_key" ON "Score"("judgeTraceId");

-- CreateIndex
CREATE INDEX "Score_runId_scorer_idx" ON "Score"("runId", "scorer");

-- CreateIndex
CREATE UNIQUE INDEX "Score_itemId_scorer_key" ON "Score"("itemId", "scorer");
