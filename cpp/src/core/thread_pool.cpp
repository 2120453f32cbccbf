#include "spikecore/core/thread_pool.hpp"

#include "spikecore/core/errors.hpp"

namespace spikecore {

ThreadPool::ThreadPool(int n_threads) : n_(n_threads) {
  if (n_threads < 1) throw value_error("n_threads: must be >= 1, got " + std::to_string(n_threads));
  for (int r = 1; r < n_; ++r) threads_.emplace_back([this, r] { worker(r); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_start_.notify_all();
  for (auto& t : threads_) t.join();
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
  const uint32_t my_sense = sense_.load(std::memory_order_relaxed);
  if (arrived_.fetch_add(1, std::memory_order_acq_rel) == n_ - 1) {
    arrived_.store(0, std::memory_order_relaxed);
    sense_.store(my_sense + 1, std::memory_order_seq_cst);
    // sleepers_ is incremented under bmu_ before a sleeper re-checks sense_ (seq_cst on both
    // sides): either we see it and notify under the lock, or it sees the new sense.
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {
      std::lock_guard<std::mutex> lk(bmu_);
      bcv_.notify_all();
    }
    return;
  }
  for (int spins = 0; spins < 4096 + 16; ++spins) {
    if (sense_.load(std::memory_order_acquire) != my_sense) return;
    if (spins >= 4096) std::this_thread::yield();
  }
  std::unique_lock<std::mutex> lk(bmu_);
  sleepers_.fetch_add(1, std::memory_order_seq_cst);
  bcv_.wait(lk, [&] { return sense_.load(std::memory_order_seq_cst) != my_sense; });
  sleepers_.fetch_sub(1, std::memory_order_seq_cst);
}

}  // namespace spikecore
