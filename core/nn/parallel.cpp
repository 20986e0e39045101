#include "nn/parallel.hpp"

#include <omp.h>

#include <Eigen/Core>

namespace cae::nn {

int threads() { return omp_get_max_threads(); }

void setThreads(int n) {
  if (n < 1) n = 1;
  omp_set_num_threads(n);
  Eigen::setNbThreads(n);
}

bool inParallel() { return omp_in_parallel() != 0; }

int threadIndex() { return omp_get_thread_num(); }

}  // namespace cae::nn
