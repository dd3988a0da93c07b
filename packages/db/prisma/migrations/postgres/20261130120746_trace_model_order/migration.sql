-- DropIndex
DROP INDEX "Trace_runId_modelId_idx";

-- CreateIndex
CREATE INDEX "Trace_runId_modelId_id_idx" ON "Trace"("runId", "modelId", "id");
