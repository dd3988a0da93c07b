-- AlterTable
ALTER TABLE "Run" ADD COLUMN "cancelRequestedAt" DATETIME;
ALTER TABLE "Run" ADD COLUMN "executorId" TEXT;
ALTER TABLE "Run" ADD COLUMN "leaseUntil" DATETIME;
