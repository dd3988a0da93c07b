-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Run" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT,
    "status" TEXT NOT NULL DEFAULT 'queued',
    "promptSetId" TEXT NOT NULL,
    "concurrency" INTEGER NOT NULL,
    "delayMs" INTEGER NOT NULL DEFAULT 0,
    "promptLimit" INTEGER,
    "repeats" INTEGER NOT NULL DEFAULT 1,
    "maxRetries" INTEGER NOT NULL DEFAULT 3,
    "timeoutMs" INTEGER NOT NULL DEFAULT 60000,
    "totalItems" INTEGER NOT NULL DEFAULT 0,
    "completedItems" INTEGER NOT NULL DEFAULT 0,
    "failedItems" INTEGER NOT NULL DEFAULT 0,
    "cancelledItems" INTEGER NOT NULL DEFAULT 0,
    "retries" INTEGER NOT NULL DEFAULT 0,
    "inputTokens" INTEGER NOT NULL DEFAULT 0,
    "outputTokens" INTEGER NOT NULL DEFAULT 0,
    "costUsd" REAL NOT NULL DEFAULT 0,
    "scorers" JSONB,
    "error" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" DATETIME,
    "finishedAt" DATETIME,
    "activeMs" INTEGER NOT NULL DEFAULT 0,
    "stretchStartedAt" DATETIME,
    "executorId" TEXT,
    "leaseUntil" DATETIME,
    "cancelRequestedAt" DATETIME,
    "lastSeq" INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT "Run_promptSetId_fkey" FOREIGN KEY ("promptSetId") REFERENCES "PromptSet" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);
INSERT INTO "new_Run" ("activeMs", "cancelRequestedAt", "cancelledItems", "completedItems", "concurrency", "costUsd", "createdAt", "delayMs", "error", "executorId", "failedItems", "finishedAt", "id", "inputTokens", "leaseUntil", "maxRetries", "name", "outputTokens", "promptLimit", "promptSetId", "repeats", "retries", "scorers", "startedAt", "status", "stretchStartedAt", "timeoutMs", "totalItems") SELECT "activeMs", "cancelRequestedAt", "cancelledItems", "completedItems", "concurrency", "costUsd", "createdAt", "delayMs", "error", "executorId", "failedItems", "finishedAt", "id", "inputTokens", "leaseUntil", "maxRetries", "name", "outputTokens", "promptLimit", "promptSetId", "repeats", "retries", "scorers", "startedAt", "status", "stretchStartedAt", "timeoutMs", "totalItems" FROM "Run";
DROP TABLE "Run";
ALTER TABLE "new_Run" RENAME TO "Run";
CREATE INDEX "Run_createdAt_idx" ON "Run"("createdAt");
CREATE INDEX "Run_status_idx" ON "Run"("status");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;
-- Runs logged before: their last seq, so their next events go on from it.
UPDATE "Run" SET "lastSeq" = COALESCE((SELECT MAX("seq") FROM "RunEvent" WHERE "RunEvent"."runId" = "Run"."id"), 0);
