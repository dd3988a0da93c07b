-- AlterTable
ALTER TABLE "Run" ADD COLUMN     "cancelRequestedAt" TIMESTAMP(3),
ADD COLUMN     "executorId" TEXT,
ADD COLUMN     "leaseUntil" TIMESTAMP(3);
