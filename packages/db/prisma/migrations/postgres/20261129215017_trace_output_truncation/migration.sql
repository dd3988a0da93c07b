-- AlterTable
ALTER TABLE "Trace" ADD COLUMN     "outputChars" INTEGER,
ADD COLUMN     "outputTruncated" BOOLEAN NOT NULL DEFAULT false;
