// The training kernels' threads. Work is cut into fixed chunks (a deterministic split: every
// chunk writes its own outputs, so results do not depend on which thread runs it) that the
// threads claim dynamically. Two ways to run them:
//
// * on the process's OpenMP runtime, when one is resident (torch's libgomp.so.1: torch runs its
//   own ops on it). The kernels of a training step alternate with torch's ops (BLAS products,
//   reductions, the optimizer); torch's OpenMP threads spin for a while after each op, so a
//   second pool of threads would find the cores busy and wake late (measured in the SHD step:
//   the team's worker then rarely got a chunk). Sharing torch's team, the kernels start on
//   threads that are already running. The runtime is found with dlopen(RTLD_NOLOAD): spikecore
//   never loads or links an OpenMP library itself.
// * otherwise (no OpenMP runtime resident, or set_thread_backend(Own)), on a team of our own.
//   The caller waits for the chunks, not for the workers: if a worker is slow to wake, the
//   caller runs the remaining chunks itself.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "spikecore/core/errors.hpp"
#include "spikecore/core/thread_pool.hpp"
#include "spikecore/train/kernels.hpp"

#if defined(__linux__) || defined(__APPLE__)
#include <dlfcn.h>
#define SPIKECORE_HAVE_DLOPEN 1
#endif

namespace spikecore::train {

namespace {

// ---- the resident OpenMP runtime (GNU ABI: GOMP_parallel, also offered by LLVM's and Intel's)
using GompParallel = void (*)(void (*)(void*), void*, unsigned, unsigned);
std::atomic<GompParallel> g_gomp{nullptr};
std::atomic<int> g_backend{int(ThreadBackend::Auto)};  // default (see kernels.hpp)

GompParallel resident_openmp() {
  GompParallel f = g_gomp.load(std::memory_order_acquire);
  if (f != nullptr) return f;
#ifdef SPIKECORE_HAVE_DLOPEN
  // only a runtime that is already loaded (RTLD_NOLOAD); looked up again until one is
  for (const char* name : {"libgomp.so.1", "libgomp.1.dylib"}) {
    void* h = dlopen(name, RTLD_LAZY | RTLD_NOLOAD);
    if (h == nullptr) continue;
    f = reinterpret_cast<GompParallel>(dlsym(h, "GOMP_parallel"));
    dlclose(h);  // the runtime stays resident: its loader (torch) holds it
    if (f != nullptr) {
      g_gomp.store(f, std::memory_order_release);
      return f;
    }
  }
#endif
  return nullptr;
}

struct OmpJob {
  const std::function<void(int64_t)>* f;
  int64_t n_chunks;
  alignas(64) std::atomic<int64_t> next{0};
  std::mutex mu;
  std::exception_ptr error;
};

void omp_body(void* data) {  // runs on every thread of the OpenMP team
  auto* job = static_cast<OmpJob*>(data);
  for (;;) {
    const int64_t c = job->next.fetch_add(1, std::memory_order_relaxed);
    if (c >= job->n_chunks) return;
    try {
      (*job->f)(c);
    } catch (...) {
      std::lock_guard<std::mutex> lk(job->mu);
      if (!job->error) job->error = std::current_exception();
    }
  }
}

class ChunkTeam {
 public:
  explicit ChunkTeam(int n_threads) : n_threads_(n_threads) {
    threads_.reserve(size_t(n_threads > 1 ? n_threads - 1 : 0));
    try {
      for (int r = 1; r < n_threads; ++r) threads_.emplace_back([this] { worker(); });
    } catch (const std::exception& e) {
      // no destructor for a half-built team: join what started (ThreadPool does the same)
      const size_t started = threads_.size() + 1;
      stop_and_join();
      throw thread_start_error(n_threads, started, e);
    }
  }
  ~ChunkTeam() { stop_and_join(); }
  ChunkTeam(const ChunkTeam&) = delete;
  ChunkTeam& operator=(const ChunkTeam&) = delete;
  int size() const { return n_threads_; }

  // Calls f(c) once for every chunk c in [0, n_chunks); returns when all are done.
  void run(int64_t n_chunks, const std::function<void(int64_t)>& f) {
    uint32_t g;
    {
      std::lock_guard<std::mutex> lk(mu_);
      g = ++gen_;
      job_ = &f;
      chunks_ = n_chunks;
      error_ = nullptr;
      done_.store(0, std::memory_order_relaxed);
      next_.store(uint64_t(g) << 32, std::memory_order_release);
    }
    cv_.notify_all();
    work(g, &f, n_chunks);
    while (done_.load(std::memory_order_acquire) < n_chunks) std::this_thread::yield();
    std::exception_ptr err;
    {
      std::lock_guard<std::mutex> lk(mu_);
      job_ = nullptr;
      err = error_;
    }
    if (err) std::rethrow_exception(err);
  }

 private:
  void stop_and_join() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

  void work(uint32_t g, const std::function<void(int64_t)>* f, int64_t n_chunks) {
    for (;;) {
      uint64_t cur = next_.load(std::memory_order_acquire);
      if (uint32_t(cur >> 32) != g) return;  // a later job: ours is finished
      const int64_t c = int64_t(cur & 0xffffffffu);
      if (c >= n_chunks) return;
      if (!next_.compare_exchange_weak(cur, cur + 1, std::memory_order_acq_rel)) continue;
      try {
        (*f)(c);
      } catch (...) {
        std::lock_guard<std::mutex> lk(mu_);
        if (!error_) error_ = std::current_exception();
      }
      done_.fetch_add(1, std::memory_order_acq_rel);
    }
  }

  void worker() {
    uint32_t seen = 0;
    for (;;) {
      const std::function<void(int64_t)>* f;
      int64_t n;
      uint32_t g;
      {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return stop_ || gen_ != seen; });
        if (stop_) return;
        seen = g = gen_;
        f = job_;
        n = chunks_;
      }
      if (f) work(g, f, n);
    }
  }

  int n_threads_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable cv_;
  uint32_t gen_ = 0;
  const std::function<void(int64_t)>* job_ = nullptr;
  int64_t chunks_ = 0;
  std::exception_ptr error_;
  bool stop_ = false;
  alignas(64) std::atomic<uint64_t> next_{0};  // (generation << 32) | next chunk
  alignas(64) std::atomic<int64_t> done_{0};
};

std::mutex g_mu;  // one kernel at a time on the team (calls may come from several threads)
std::unique_ptr<ChunkTeam> g_team;

}  // namespace

void parallel_blocks(int n_threads, int64_t n, const std::function<void(int64_t, int64_t)>& f,
                     int64_t grain) {
  if (n_threads < 1) n_threads = 1;
  if (grain < 1) grain = 1;
  // at least `grain` units per chunk, else threads cost more than they save
  const int64_t max_chunks = (n + grain - 1) / grain;
  int64_t n_chunks = std::min<int64_t>(int64_t(n_threads) * 4, max_chunks);
  if (n_threads == 1 || n_chunks <= 1) {
    f(0, n);
    return;
  }
  // chunk boundaries aligned to 16 elements (vector width, whole bytes of spike bits, no false
  // sharing of outputs)
  const int64_t units = (n + 15) / 16;
  n_chunks = std::min(n_chunks, units);
  const std::function<void(int64_t)> chunk = [&](int64_t c) {
    int64_t b, e;
    const int64_t q = units / n_chunks, r = units % n_chunks;
    b = c * q + std::min(c, r);
    e = b + q + (c < r ? 1 : 0);
    b *= 16;
    e = std::min(e * 16, n);
    if (b < e) f(b, e);
  };
  const auto backend = ThreadBackend(g_backend.load(std::memory_order_relaxed));
  if (backend != ThreadBackend::Own) {
    if (GompParallel par = resident_openmp()) {
      OmpJob job;
      job.f = &chunk;
      job.n_chunks = n_chunks;
      par(&omp_body, &job, unsigned(n_threads), 0);
      if (job.error) std::rethrow_exception(job.error);
      return;
    }
    if (backend == ThreadBackend::OpenMP)
      throw value_error("thread_backend: 'openmp' was chosen, but no OpenMP runtime is loaded");
  }
  std::lock_guard<std::mutex> lk(g_mu);
  if (!g_team || g_team->size() != n_threads) {
    g_team.reset();
    g_team = std::make_unique<ChunkTeam>(n_threads);
  }
  g_team->run(n_chunks, chunk);
}

void set_thread_backend(ThreadBackend b) { g_backend.store(int(b), std::memory_order_relaxed); }

ThreadBackend thread_backend() { return ThreadBackend(g_backend.load(std::memory_order_relaxed)); }

bool openmp_resident() { return resident_openmp() != nullptr; }

}  // namespace spikecore::train
