-- CreateTable
CREATE TABLE "RunStats" (
    "runId" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "stats" JSONB,
    "compare" JSONB,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "RunStats_pkey" PRIMARY KEY ("runId")
);

-- AddForeignKey
ALTER TABLE "RunStats" ADD CONSTRAINT "RunStats_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run"("id") ON DELETE CASCADE ON UPDATE CASCADE;
