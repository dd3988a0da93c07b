// The benchmark's model (the fake, or the simulator with BENCH_SIM=1; streaming unless
// BENCH_STREAM=0) and a prompt set of `prompts` prompts, as the measures and the page probe use them.
import type { Client } from '@batchlight/api/client';

export async function setup(api: Client, fakeUrl: string, prompts: number) {
  const common = {
    name: `bench-${Math.random().toString(36).slice(2, 8)}`,
    providerModel: 'bench-model',
    pricing: { inputPerMTok: 1, outputPerMTok: 2 },
  };
  const model = await api.models.create.mutate(
    process.env.BENCH_SIM === '1'
      ? {
          ...common,
          provider: 'simulated',
          params: { simulation: { latencyMs: 0, outputTokens: { min: 8, max: 24 } } },
        }
      : {
          ...common,
          provider: 'openai',
          baseUrl: `${fakeUrl}/v1`,
          credentialEnv: 'LLM_KEY_BENCH',
          params: { stream: process.env.BENCH_STREAM !== '0' },
        },
  );
  const set = await api.promptSets.create.mutate({
    name: `bench ${prompts}`,
    prompts: Array.from({ length: prompts }, (_, i) => ({ input: `Benchmark prompt ${i}: answer briefly.` })),
  });
  return { model, set };
}
