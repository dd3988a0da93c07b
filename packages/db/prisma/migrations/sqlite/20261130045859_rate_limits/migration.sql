-- AlterTable
ALTER TABLE "Model" ADD COLUMN "rateLimitConcurrency" INTEGER;
ALTER TABLE "Model" ADD COLUMN "rateLimitRequestsPerMinute" INTEGER;
ALTER TABLE "Model" ADD COLUMN "rateLimitTokensPerMinute" INTEGER;

-- AlterTable
ALTER TABLE "RunModel" ADD COLUMN "rateLimitConcurrency" INTEGER;
ALTER TABLE "RunModel" ADD COLUMN "rateLimitRequestsPerMinute" INTEGER;
ALTER TABLE "RunModel" ADD COLUMN "rateLimitTokensPerMinute" INTEGER;
