-- AlterTable
ALTER TABLE "Model" ADD COLUMN     "rateLimitConcurrency" INTEGER,
ADD COLUMN     "rateLimitRequestsPerMinute" INTEGER,
ADD COLUMN     "rateLimitTokensPerMinute" INTEGER;

-- AlterTable
ALTER TABLE "RunModel" ADD COLUMN     "rateLimitConcurrency" INTEGER,
ADD COLUMN     "rateLimitRequestsPerMinute" INTEGER,
ADD COLUMN     "rateLimitTokensPerMinute" INTEGER;
