// How long this machine leaves a ready process off its CPU: a 1 ms timer in an otherwise idle
// process. These VMs (Firecracker, nested virtualisation) now and then let such a timer go 4-6 ms
// with nothing else running. A process stamping times (the fake's B6 starts) is late by as much
// whenever that happens, and every figure here carries it as noise.

/** The intervals (ms, sorted) between the ticks of a 1 ms timer over `seconds`. */
export function timerIntervals(seconds = 3): Promise<number[]> {
  return new Promise((resolve) => {
    const ticks: number[] = [];
    const t0 = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      ticks.push(now);
      if (now - t0 < seconds * 1000) return;
      clearInterval(timer);
      resolve(
        ticks
          .slice(1)
          .map((t, i) => t - ticks[i]!)
          .sort((a, b) => a - b),
      );
    }, 1);
  });
}
