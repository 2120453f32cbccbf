#pragma once
// A persistent team of threads. `run(f)` calls f(rank) on every member (rank 0 is the caller)
// and returns when all are done. Inside f, members synchronise with `barrier()` (the core's
// SplitBarrier, core/barrier.hpp: adaptive spinning, then yields, then sleep, so an
// oversubscribed machine is not burnt on spinning) so that a whole simulation loop can run
// inside one run() call with one barrier per phase, as NEST does with OpenMP.
//
// Work is split by fixed blocks, never by dynamic scheduling, so any sum has a fixed order.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <vector>

#include "spikecore/core/barrier.hpp"

namespace spikecore {

// The most members one thread team may have: the one bound on every n_threads argument of the
// core (Network, CochleaStream, HebbFF, distance matrices, ThreadPool itself). Python reads it as
// spikecore._core.engine.max_threads() (spikecore._guards.threads checks against it).
inline constexpr int kMaxThreads = 1024;

// value_error naming `arg` unless 1 <= n <= kMaxThreads: "n_threads: must be in [1, 1024], got n".
void require_threads(int64_t n, std::string_view arg = "n_threads");

// The error for a thread team whose members could not all be started (std::thread threw, e.g.
// EAGAIN under the process's thread limit RLIMIT_NPROC or its memory limit): a runtime_error
// (RuntimeError in Python) naming n_threads, how many started and why. The team has stopped and
// joined the members it had started, so nothing is left running.
std::runtime_error thread_start_error(int n_threads, size_t started, const std::exception& why);

class ThreadPool {
 public:
  // Starts n_threads - 1 worker threads (require_threads: 1..kMaxThreads); throws
  // thread_start_error (nothing left running) if one cannot be started.
  explicit ThreadPool(int n_threads = 1);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_; }
  // Run f(rank) on all members; rethrows the first exception raised by any member. One job at a
  // time: a call while another thread's run() is in progress throws std::runtime_error.
  void run(const std::function<void(int)>& f);
  // Called by all members inside run(): waits until every member has arrived.
  void barrier();

  // Split [0, n) into size() contiguous blocks; block b is [begin, end).
  static void block_range(int64_t n, int n_blocks, int b, int64_t& begin, int64_t& end) {
    const int64_t q = n / n_blocks, r = n % n_blocks;
    begin = b * q + (b < r ? b : r);
    end = begin + q + (b < r ? 1 : 0);
  }

 private:
  void worker(int rank);
  void stop_and_join();

  int n_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable cv_start_, cv_done_;
  const std::function<void(int)>* job_ = nullptr;
  uint64_t generation_ = 0;
  int running_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
  std::atomic<bool> in_run_{false};
  SplitBarrier bar_;
};

}  // namespace spikecore
