// How long this machine leaves a ready process off its CPU: a 1 ms timer in an otherwise idle
// process. These VMs (Firecracker, nested virtualisation) now and then let such a timer go 3-6 ms
// with nothing else running. A process stamping times (the fake's B6 starts) is late by as much
// whenever that happens, and every figure here carries it as noise.

export interface TimerStalls {
  seconds: number;
  p50: number;
  p99: number;
  max: number;
  /** Intervals of 2.5 ms or more (the timer asks for 1). */
  over2_5: number;
}

export function timerStalls(seconds = 3): Promise<TimerStalls> {
  return new Promise((resolve) => {
    const ticks: number[] = [];
    const t0 = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      ticks.push(now);
      if (now - t0 < seconds * 1000) return;
      clearInterval(timer);
      const gaps = ticks.slice(1).map((t, i) => t - ticks[i]!).sort((a, b) => a - b);
      const at = (p: number) => gaps[Math.min(gaps.length - 1, Math.floor(p * gaps.length))]!;
      resolve({ seconds, p50: at(0.5), p99: at(0.99), max: gaps[gaps.length - 1]!, over2_5: gaps.filter((g) => g >= 2.5).length });
    }, 1);
  });
}
