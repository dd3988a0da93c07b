-- CreateIndex
CREATE INDEX "Message_runId_id_idx" ON "Message"("runId", "id");

-- CreateIndex
CREATE INDEX "Trace_runId_id_idx" ON "Trace"("runId", "id");
