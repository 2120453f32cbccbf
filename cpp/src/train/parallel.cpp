// The training kernels' thread team: one persistent ThreadPool, rebuilt when the requested
// thread count changes; calls are serialised (kernels may be called from several Python
// threads with the GIL released).
#include <memory>
#include <mutex>

#include "spikecore/core/thread_pool.hpp"
#include "spikecore/train/kernels.hpp"

namespace spikecore::train {

namespace {
std::mutex g_mu;
std::unique_ptr<ThreadPool> g_pool;
}  // namespace

void parallel_blocks(int n_threads, int64_t n, const std::function<void(int64_t, int64_t)>& f,
                     int64_t grain) {
  if (n_threads < 1) n_threads = 1;
  // at least `grain` units per thread, else threads cost more than they save
  if (grain < 1) grain = 1;
  const int64_t max_useful = (n + grain - 1) / grain;
  if (max_useful < n_threads) n_threads = int(max_useful < 1 ? 1 : max_useful);
  if (n_threads == 1) {
    f(0, n);
    return;
  }
  std::lock_guard<std::mutex> lk(g_mu);
  if (!g_pool || g_pool->size() != n_threads) {
    g_pool.reset();
    g_pool = std::make_unique<ThreadPool>(n_threads);
  }
  // blocks aligned to 16 elements (vector width, and no false sharing of outputs)
  const int64_t chunks = (n + 15) / 16;
  g_pool->run([&](int rank) {
    int64_t b, e;
    ThreadPool::block_range(chunks, n_threads, rank, b, e);
    b *= 16;
    e = e * 16 < n ? e * 16 : n;
    if (b < e) f(b, e);
  });
}

}  // namespace spikecore::train
