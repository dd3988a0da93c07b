-- CreateIndex
CREATE INDEX "RunItem_runId_id_idx" ON "RunItem"("runId", "id");
