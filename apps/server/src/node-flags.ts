// The Node (V8) flags the server runs with. They are command-line flags, not set from inside the
// process: `pnpm start` passes them (package.json), and every launcher of the server (its tests,
// the CLI's and the monitor's, bench) passes this list through `startServerProcess`. A test checks
// that the start script and this list agree. Why each (README, "Node flags of the server"):
export const SERVER_NODE_FLAGS = [
  // With the heap limit V8 picks on a machine with 16 GB or more (4 GB), it lets the old generation
  // grow to 4x what survived the last full GC before collecting again. A run keeps ~40 MB alive,
  // but each call's in-flight state outlives two scavenges and is promoted (~45 KB a call), so the
  // old generation swings between ~40 and ~180 MB, all of it resident. Growing 2x bounds it near
  // 110 MB, for ~3x as many full GCs (tens of ms each at this heap size).
  '--heap-growing-percent=100',
  // Prisma's query compiler is a 3 MB WebAssembly module. V8 compiles it quickly (Liftoff) and then
  // recompiles its hot functions with TurboFan, which leaves 30-50 MB resident for the life of the
  // process. The compiler runs only when a query shape is first seen (plans are cached), so the
  // quickly compiled code is all it needs.
  '--liftoff-only',
] as const;
