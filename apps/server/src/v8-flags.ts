// V8 settings of the server process, made before anything else is loaded (main.ts imports this
// module first), so every start of the server gets them, however it is started. Both are read by
// V8 when used (at each full GC; when a WebAssembly module is compiled), so setting them at run
// time takes effect; heap sizes (--max-old-space-size, --max-semi-space-size) cannot be set this
// way, V8 fixes them when the process starts. Measurements: README, "Performance" (B4, B2).
import { setFlagsFromString } from 'node:v8';

// With the heap limit V8 picks on a machine with 16 GB or more (4 GB), it lets the old generation
// grow to 4x what survived the last full GC before collecting again. A run keeps ~40 MB alive,
// but each call's in-flight state outlives two scavenges and is promoted (~45 KB a call), so the
// old generation swung between ~40 and ~180 MB, all of it resident. Growing 2x bounds it near
// 110 MB, for ~3x as many full GCs (tens of ms each at this heap size; B2 unchanged within noise).
setFlagsFromString('--heap-growing-percent=100');

// Prisma's query compiler is a 3 MB WebAssembly module. V8 compiles it quickly (Liftoff) and then
// recompiles its hot functions with TurboFan, which left 30-50 MB resident for the life of the
// process. The compiler runs only when a query shape is first seen (plans are cached), so the
// quickly compiled code is all it needs.
setFlagsFromString('--liftoff-only');
