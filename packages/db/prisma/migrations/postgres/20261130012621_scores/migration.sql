-- AlterTable
ALTER TABLE "Prompt" ADD COLUMN     "asserts" JSONB;

-- AlterTable
ALTER TABLE "Run" ADD COLUMN     "scorers" JSONB;

-- AlterTable
ALTER TABLE "Trace" ADD COLUMN     "judgedTraceId" TEXT;

-- CreateTable
CREATE TABLE "Score" (
    "id" TEXT NOT NULL,
    "runId" TEXT NOT NULL,
    "itemId" TEXT NOT NULL,
    "scorer" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "score" DOUBLE PRECISION,
    "reason" TEXT NOT NULL,
    "judgeTraceId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Score_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Score_judgeTraceId_key" ON "Score"("judgeTraceId");

-- CreateIndex
CREATE INDEX "Score_runId_scorer_idx" ON "Score"("runId", "scorer");

-- CreateIndex
CREATE UNIQUE INDEX "Score_itemId_scorer_key" ON "Score"("itemId", "scorer");

-- CreateIndex
CREATE INDEX "Trace_judgedTraceId_idx" ON "Trace"("judgedTraceId");

-- AddForeignKey
ALTER TABLE "Trace" ADD CONSTRAINT "Trace_judgedTraceId_fkey" FOREIGN KEY ("judgedTraceId") REFERENCES "Trace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Score" ADD CONSTRAINT "Score_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Score" ADD CONSTRAINT "Score_itemId_fkey" FOREIGN KEY ("itemId") REFERENCES "RunItem"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Score" ADD CONSTRAINT "Score_judgeTraceId_fkey" FOREIGN KEY ("judgeTraceId") REFERENCES "Trace"("id") ON DELETE SET NULL ON UPDATE CASCADE;
