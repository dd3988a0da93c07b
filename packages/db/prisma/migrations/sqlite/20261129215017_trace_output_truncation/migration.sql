-- AlterTable
ALTER TABLE "Trace" ADD COLUMN "outputTruncated" BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE "Trace" ADD COLUMN "outputChars" INTEGER;
