-- AlterTable
ALTER TABLE "Run" ADD COLUMN     "lastSeq" INTEGER NOT NULL DEFAULT 0;
-- Runs logged before: their last seq, so their next events go on from it.
UPDATE "Run" SET "lastSeq" = COALESCE((SELECT MAX("seq") FROM "RunEvent" WHERE "RunEvent"."runId" = "Run"."id"), 0);
