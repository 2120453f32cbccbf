#include "spikecore/core/thread_pool.hpp"

#include <string>

#include "spikecore/core/errors.hpp"

namespace spikecore {

void require_threads(int64_t n, std::string_view arg) {
  if (n < 1 || n > kMaxThreads)
    throw value_error(message(
        arg, "must be in [1, " + std::to_string(kMaxThreads) + "], got " + std::to_string(n)));
}

std::runtime_error thread_start_error(int n_threads, size_t started, const std::exception& why) {
  return std::runtime_error(
      "n_threads: could not start thread " + std::to_string(started + 1) + " of " +
      std::to_string(n_threads) + " (" + why.what() +
      "): the process's thread limit (ulimit -u, RLIMIT_NPROC) or memory is exhausted; "
      "use fewer threads");
}

ThreadPool::ThreadPool(int n_threads) : n_(n_threads), bar_(n_threads) {
  require_threads(n_threads);
  threads_.reserve(size_t(n_ - 1));
  try {
    for (int r = 1; r < n_; ++r) threads_.emplace_back([this, r] { worker(r); });
  } catch (const std::exception& e) {
    // The destructor does not run for a half-built pool: stop and join the members already
    // started (else their std::thread objects would terminate the process), then report.
    const size_t started = threads_.size() + 1;
    stop_and_join();
    throw thread_start_error(n_, started, e);
  }
}

ThreadPool::~ThreadPool() { stop_and_join(); }

void ThreadPool::stop_and_join() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_start_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void ThreadPool::worker(int rank) {
  uint64_t seen = 0;
  for (;;) {
    const std::function<void(int)>* job;
    {
      std::unique_lock<std::mutex> lk(mu_);
      cv_start_.wait(lk, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      job = job_;
    }
    try {
      (*job)(rank);
    } catch (...) {
      std::lock_guard<std::mutex> lk(mu_);
      if (!error_) error_ = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (--running_ == 0) cv_done_.notify_one();
    }
  }
}

void ThreadPool::run(const std::function<void(int)>& f) {
  // One job at a time: a second caller (the object that owns the team used from two threads at
  // once) would overwrite the job under the first one's members and hang or corrupt it.
  if (in_run_.exchange(true, std::memory_order_acquire))
    throw std::runtime_error(
        "thread team: busy with a job from another thread (an object was used from two threads "
        "at once)");
  struct Release {
    std::atomic<bool>& flag;
    ~Release() { flag.store(false, std::memory_order_release); }
  } release{in_run_};
  if (n_ == 1) {
    f(0);
    return;
  }
  {
    std::lock_guard<std::mutex> lk(mu_);
    job_ = &f;
    running_ = n_ - 1;
    error_ = nullptr;
    ++generation_;
  }
  cv_start_.notify_all();
  std::exception_ptr mine;
  try {
    f(0);
  } catch (...) {
    mine = std::current_exception();
  }
  std::unique_lock<std::mutex> lk(mu_);
  cv_done_.wait(lk, [&] { return running_ == 0; });
  job_ = nullptr;
  if (mine) std::rethrow_exception(mine);
  if (error_) std::rethrow_exception(error_);
}

void ThreadPool::barrier() {
  if (n_ == 1) return;
  thread_local int64_t spin_ns = SplitBarrier::kMaxSpinNs;  // each member's adaptive budget
  bar_.wait(bar_.arrive(), spin_ns);
}

}  // namespace spikecore
