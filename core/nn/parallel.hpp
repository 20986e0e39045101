// Thread control for the engine. Conv layers split a batch across threads; a single large
// sample is split inside Eigen's GEMM instead.
#pragma once

namespace cae::nn {

// Threads the engine may use (default: OMP_NUM_THREADS, else all cores).
int threads();
void setThreads(int n);
// True inside a parallel region, where nested work must run on the calling thread.
bool inParallel();
int threadIndex();

}  // namespace cae::nn
