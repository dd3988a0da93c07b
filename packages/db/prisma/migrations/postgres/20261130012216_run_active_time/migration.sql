-- AlterTable
ALTER TABLE "Run" ADD COLUMN     "activeMs" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "stretchStartedAt" TIMESTAMP(3);
