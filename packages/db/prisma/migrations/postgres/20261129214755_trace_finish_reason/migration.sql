-- AlterTable
ALTER TABLE "Trace" ADD COLUMN     "finishReason" TEXT;
