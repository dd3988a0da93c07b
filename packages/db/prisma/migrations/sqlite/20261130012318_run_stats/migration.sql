-- CreateTable
CREATE TABLE "RunStats" (
    "runId" TEXT NOT NULL PRIMARY KEY,
    "seq" INTEGER NOT NULL,
    "stats" JSONB,
    "compare" JSONB,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "RunStats_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
