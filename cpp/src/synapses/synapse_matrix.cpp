#include "spikecore/synapses/synapse_matrix.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "spikecore/core/errors.hpp"
#include "spikecore/core/rng.hpp"

namespace spikecore {

namespace {
// Reserve room for n elements in an empty vector and, on Linux, ask for transparent huge pages
// (2 MiB) on it before its first touch (most systems run THP in "madvise" mode). Delivery jumps
// from row to row of arrays of tens of MiB: with 4 KiB pages nearly every row slice costs a TLB
// miss and a page walk, with 2 MiB pages the arrays of a Brunel network fit the TLB.
template <typename V>
void reserve_huge(V& v, size_t n) {
  v.clear();
  v.reserve(n);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr uintptr_t kHuge = uintptr_t(2) << 20;
  const uintptr_t a = reinterpret_cast<uintptr_t>(v.data());
  const uintptr_t lo = (a + kHuge - 1) & ~(kHuge - 1);
  const uintptr_t hi = (a + n * sizeof(v[0])) & ~(kHuge - 1);
  if (hi > lo) madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_HUGEPAGE);  // a hint only
#endif
}

constexpr uint64_t kStreamPrune = 0x5052554eull;   // "PRUN"
constexpr uint64_t kStreamRegrow = 0x52454752ull;  // "REGR"

int64_t fraction_count(double fraction, int64_t nnz, const char* arg) {
  require_finite(fraction, arg);
  require(fraction >= 0 && fraction <= 1, arg,
          "must be in [0, 1], got " + std::to_string(fraction));
  return std::llround(fraction * double(nnz));
}

// The k-th smallest (1-based, k <= the number of keys) of the keys of all ranks: radix select,
// 8 bits per round, one summed 256-bin histogram per round. rank_in_equal = k - (number of keys
// below it): how many of the keys equal to it are among the k smallest.
uint32_t kth_smallest(const std::vector<uint32_t>& keys, int64_t k, const RankSplit& split,
                      int64_t& rank_in_equal) {
  uint32_t prefix = 0, mask = 0;
  std::vector<int64_t> hist(256);
  for (int shift = 24; shift >= 0; shift -= 8) {
    std::fill(hist.begin(), hist.end(), int64_t(0));
    for (uint32_t x : keys)
      if ((x & mask) == prefix) ++hist[(x >> shift) & 255u];
    split.sum(hist);
    uint32_t b = 0;
    while (b < 255 && k > hist[b]) k -= hist[b++];
    prefix |= b << shift;
    mask |= 255u << shift;
  }
  rank_in_equal = k;
  return prefix;
}

// Per row r: the position, in the row order of the whole matrix over all ranks, of this rank's
// first item of row r, given this rank's item count per row (ranks hold ascending column
// ranges, so within a row lower ranks come first). One process: the exclusive prefix sum.
std::vector<int64_t> global_offsets(std::vector<int64_t> counts, const RankSplit& split) {
  std::vector<int64_t> before(counts);
  split.sum(counts);
  split.exscan(before);
  int64_t acc = 0;
  for (size_t r = 0; r < counts.size(); ++r) {
    const int64_t total = counts[r];
    counts[r] = acc + before[r];
    acc += total;
  }
  return counts;
}

// Removes every key < tau and the `take` lowest-positioned keys == tau (positions in row order
// over all ranks); row_of[i]: the row of key i (rows ascending).
std::vector<uint8_t> take_below_and_ties(const std::vector<uint32_t>& keys,
                                         const std::vector<int32_t>& row_of, int32_t n_rows,
                                         uint32_t tau, int64_t take, const RankSplit& split) {
  std::vector<int64_t> eq(static_cast<size_t>(n_rows), 0);
  int64_t n_eq = 0;
  for (size_t i = 0; i < keys.size(); ++i)
    if (keys[i] == tau) {
      ++eq[size_t(row_of[i])];
      ++n_eq;
    }
  const bool all_ties = take >= split.sum(n_eq);
  std::vector<int64_t> at;  // global tie index of each row's first local tie
  if (!all_ties) at = global_offsets(std::move(eq), split);
  std::vector<uint8_t> out(keys.size(), 0);
  for (size_t i = 0; i < keys.size(); ++i) {
    if (keys[i] < tau)
      out[i] = 1;
    else if (keys[i] == tau)
      out[i] = all_ties || at[size_t(row_of[i])]++ < take;
  }
  return out;
}

uint32_t float_bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}
}  // namespace

SynapseMatrix::SynapseMatrix(int32_t n_pre, int32_t n_post)
    : n_pre_(n_pre), n_post_(n_post), narrow_(n_post <= 65536) {
  require(n_pre >= 0, "n_pre", "must be >= 0");
  require(n_post >= 0, "n_post", "must be >= 0");
  start_.assign(size_t(n_pre) + 1, 0);
  len_.assign(size_t(n_pre), 0);
}

SynapseMatrix SynapseMatrix::from_coo(int32_t n_pre, int32_t n_post, const int32_t* pre,
                                      const int32_t* post, const float* weight,
                                      const uint16_t* delay, int64_t nnz, double slack) {
  require(nnz >= 0, "nnz", "must be >= 0");
  require(slack >= 0 && std::isfinite(slack), "slack", "must be a finite number >= 0");
  SynapseMatrix m(n_pre, n_post);
  std::vector<int64_t> count(size_t(n_pre) + 1, 0);
  for (int64_t k = 0; k < nnz; ++k) {
    require_index(pre[k], n_pre, "pre");
    require_index(post[k], n_post, "post");
    if (weight) require_finite(weight[k], "weight");
    if (delay) require(delay[k] >= 1, "delay", "must be >= 1 step");
    ++count[size_t(pre[k]) + 1];
  }
  // capacities
  for (int32_t r = 0; r < n_pre; ++r) {
    const int64_t c = count[size_t(r) + 1];
    const int64_t cap = c + int64_t(std::ceil(slack * double(c)));
    m.start_[size_t(r) + 1] = m.start_[size_t(r)] + cap;
  }
  const int64_t total = m.start_[size_t(n_pre)];
  std::vector<int32_t> tp;  // targets as int32 while sorting
  reserve_huge(tp, size_t(total));
  tp.resize(size_t(total));
  reserve_huge(m.weight_, size_t(total));
  m.weight_.resize(size_t(total));
  reserve_huge(m.delay_, size_t(total));
  m.delay_.resize(size_t(total));
  // counting sort by pre (stable), then a stable sort by post inside each row
  for (int64_t k = 0; k < nnz; ++k) {
    const int32_t r = pre[k];
    const int64_t at = m.start_[size_t(r)] + m.len_[size_t(r)]++;
    tp[size_t(at)] = post[k];
    m.weight_[size_t(at)] = weight ? weight[k] : 0.f;
    m.delay_[size_t(at)] = delay ? delay[k] : uint16_t(1);
  }
  std::vector<int32_t> idx;
  std::vector<int32_t> p2;
  std::vector<float> w2;
  std::vector<uint16_t> d2;
  for (int32_t r = 0; r < n_pre; ++r) {
    const int64_t b = m.start_[size_t(r)], n = m.len_[size_t(r)];
    if (std::is_sorted(tp.begin() + b, tp.begin() + b + n)) continue;
    idx.resize(size_t(n));
    std::iota(idx.begin(), idx.end(), 0);
    std::stable_sort(idx.begin(), idx.end(),
                     [&](int32_t a, int32_t c) { return tp[size_t(b + a)] < tp[size_t(b + c)]; });
    p2.resize(size_t(n));
    w2.resize(size_t(n));
    d2.resize(size_t(n));
    for (int64_t i = 0; i < n; ++i) {
      p2[size_t(i)] = tp[size_t(b + idx[size_t(i)])];
      w2[size_t(i)] = m.weight_[size_t(b + idx[size_t(i)])];
      d2[size_t(i)] = m.delay_[size_t(b + idx[size_t(i)])];
    }
    std::copy(p2.begin(), p2.end(), tp.begin() + b);
    std::copy(w2.begin(), w2.end(), m.weight_.begin() + b);
    std::copy(d2.begin(), d2.end(), m.delay_.begin() + b);
  }
  if (m.narrow_) {
    reserve_huge(m.post16_, size_t(total));
    m.post16_.assign(tp.begin(), tp.end());  // every target < n_post <= 65536
  } else {
    m.post32_.swap(tp);
  }
  m.nnz_ = nnz;
  return m;
}

int32_t SynapseMatrix::max_delay() const {
  int32_t d = 0;
  for (int32_t r = 0; r < n_pre_; ++r)
    for (int64_t k = row_begin(r); k < row_end(r); ++k) d = std::max<int32_t>(d, delay_[size_t(k)]);
  return d;
}

size_t SynapseMatrix::memory_bytes() const {
  return post16_.capacity() * sizeof(uint16_t) + post32_.capacity() * sizeof(int32_t) +
         weight_.capacity() * sizeof(float) + delay_.capacity() * sizeof(uint16_t) +
         start_.capacity() * sizeof(int64_t) + len_.capacity() * sizeof(int32_t);
}

void SynapseMatrix::set_weights(const float* w, int64_t n) {
  require(n == nnz(), "weight",
          "length must equal the number of synapses (" + std::to_string(nnz()) + ")");
  for (int64_t k = 0; k < n; ++k)
    if (!std::isfinite(w[k])) throw value_error("weight: contains NaN or inf");
  int64_t i = 0;
  for (int32_t r = 0; r < n_pre_; ++r)
    for (int64_t k = row_begin(r); k < row_end(r); ++k) weight_[size_t(k)] = w[i++];
}

void SynapseMatrix::to_coo(int32_t* pre, int32_t* post, float* weight, uint16_t* delay) const {
  int64_t i = 0;
  for (int32_t r = 0; r < n_pre_; ++r) {
    for (int64_t k = row_begin(r); k < row_end(r); ++k, ++i) {
      if (pre) pre[i] = r;
      if (post) post[i] = post_at(k);
      if (weight) weight[i] = weight_[size_t(k)];
      if (delay) delay[i] = delay_[size_t(k)];
    }
  }
}

void SynapseMatrix::to_dense(float* out) const {
  std::memset(out, 0, sizeof(float) * size_t(n_pre_) * size_t(n_post_));
  for (int32_t r = 0; r < n_pre_; ++r)
    for (int64_t k = row_begin(r); k < row_end(r); ++k)
      out[size_t(r) * size_t(n_post_) + size_t(post_at(k))] += weight_[size_t(k)];
}

void SynapseMatrix::to_mask(uint8_t* out) const {
  std::memset(out, 0, size_t(n_pre_) * size_t(n_post_));
  for (int32_t r = 0; r < n_pre_; ++r)
    for (int64_t k = row_begin(r); k < row_end(r); ++k)
      out[size_t(r) * size_t(n_post_) + size_t(post_at(k))] = 1;
}

bool SynapseMatrix::contains(int32_t pre, int32_t post) const {
  require_index(pre, n_pre_, "pre");
  const int64_t k = lower_bound_post(row_begin(pre), row_end(pre), post);
  return k < row_end(pre) && post_at(k) == post;
}

int64_t SynapseMatrix::lower_bound_post(int64_t b, int64_t e, int32_t p) const {
  if (!narrow_) return std::lower_bound(post32_.data() + b, post32_.data() + e, p) - post32_.data();
  if (p <= 0) return b;
  if (p > 65535) return e;
  return std::lower_bound(post16_.data() + b, post16_.data() + e, uint16_t(p)) - post16_.data();
}

int64_t SynapseMatrix::compact(const std::vector<uint8_t>& remove) {
  int64_t i = 0, removed = 0;
  for (int32_t r = 0; r < n_pre_; ++r) {
    const int64_t b = row_begin(r), n = len_[size_t(r)];
    int64_t w = b;
    for (int64_t k = b; k < b + n; ++k, ++i) {
      if (remove[size_t(i)]) continue;
      if (w != k) {
        set_post(w, post_at(k));
        weight_[size_t(w)] = weight_[size_t(k)];
        delay_[size_t(w)] = delay_[size_t(k)];
      }
      ++w;
    }
    removed += n - (w - b);
    len_[size_t(r)] = int32_t(w - b);
  }
  nnz_ -= removed;
  return removed;
}

int64_t SynapseMatrix::prune_flagged(const uint8_t* flags) {
  std::vector<uint8_t> remove(flags, flags + nnz_);
  return compact(remove);
}

int64_t SynapseMatrix::prune_smallest(double fraction, const RankSplit& split) {
  const int64_t k = fraction_count(fraction, split.sum(nnz_), "fraction");
  if (k == 0) return 0;
  // |w| as its bits: ordered like the values (weights are finite; fabs(-0) = +0)
  std::vector<uint32_t> key(static_cast<size_t>(nnz_));
  std::vector<int32_t> row_of(static_cast<size_t>(nnz_));
  {
    size_t i = 0;
    for (int32_t r = 0; r < n_pre_; ++r)
      for (int64_t p = row_begin(r); p < row_end(r); ++p, ++i) {
        key[i] = float_bits(std::fabs(weight_[size_t(p)]));
        row_of[i] = r;
      }
  }
  int64_t ties;  // remove every |w| < tau and this many |w| == tau, lowest positions first
  const uint32_t tau = kth_smallest(key, k, split, ties);
  compact(take_below_and_ties(key, row_of, n_pre_, tau, ties, split));
  return k;
}

int64_t SynapseMatrix::prune_random(double fraction, uint64_t seed, uint64_t step,
                                    const RankSplit& split) {
  const int64_t total = split.sum(nnz_);
  const int64_t k0 = fraction_count(fraction, total, "fraction");
  if (k0 == 0) return 0;
  // Selection sampling (Knuth's Algorithm S) over the positions of the whole matrix in row
  // order: exactly k of total, uniformly, one 32-bit draw each. Every rank draws the whole
  // sequence (the choice at a position depends on all before it) and keeps its positions.
  const std::vector<int64_t> at =
      global_offsets(std::vector<int64_t>(len_.begin(), len_.end()), split);
  CounterRng rng(seed, kStreamPrune, 0, step);
  std::vector<uint8_t> remove(size_t(nnz_), 0);
  int64_t k = k0, left = total, g = 0;  // g: global position of the next draw
  auto draw = [&]() {
    const double u = (double(rng.next_u32()) + 0.5) * (1.0 / 4294967296.0);
    const bool take = u * double(left) < double(k);
    k -= take;
    --left;
    ++g;
    return take;
  };
  int64_t i = 0;  // local position in row order
  for (int32_t r = 0; r < n_pre_ && k > 0; ++r) {
    const int64_t n = len_[size_t(r)];
    if (n == 0) continue;
    while (g < at[size_t(r)] && k > 0) draw();  // other ranks' positions
    for (int64_t q = 0; q < n && k > 0; ++q) remove[size_t(i + q)] = draw();
    i += n;
  }
  compact(remove);
  return k0;
}

int64_t SynapseMatrix::prune_below(float threshold) {
  require_finite(threshold, "threshold");
  std::vector<uint8_t> remove(size_t(nnz_), 0);
  int64_t i = 0;
  for (int32_t r = 0; r < n_pre_; ++r)
    for (int64_t p = row_begin(r); p < row_end(r); ++p, ++i)
      remove[size_t(i)] = std::fabs(weight_[size_t(p)]) < threshold;
  return compact(remove);
}

void SynapseMatrix::repack(const std::vector<int64_t>& extra, double slack) {
  std::vector<int64_t> start(size_t(n_pre_) + 1, 0);
  for (int32_t r = 0; r < n_pre_; ++r) {
    const int64_t need = len_[size_t(r)] + extra[size_t(r)];
    const int64_t cap = std::max(start_[size_t(r) + 1] - start_[size_t(r)],
                                 need + int64_t(std::ceil(slack * double(need))));
    start[size_t(r) + 1] = start[size_t(r)] + cap;
  }
  const size_t total = size_t(start[size_t(n_pre_)]);
  std::vector<uint16_t> post16;
  std::vector<int32_t> post32;
  std::vector<float> weight;
  std::vector<uint16_t> delay;
  if (narrow_) {
    reserve_huge(post16, total);
    post16.resize(total);
  } else {
    reserve_huge(post32, total);
    post32.resize(total);
  }
  reserve_huge(weight, total);
  weight.resize(total);
  reserve_huge(delay, total);
  delay.resize(total);
  for (int32_t r = 0; r < n_pre_; ++r) {
    const int64_t b = start_[size_t(r)], n = len_[size_t(r)], nb = start[size_t(r)];
    if (narrow_)
      std::copy_n(post16_.begin() + b, n, post16.begin() + nb);
    else
      std::copy_n(post32_.begin() + b, n, post32.begin() + nb);
    std::copy_n(weight_.begin() + b, n, weight.begin() + nb);
    std::copy_n(delay_.begin() + b, n, delay.begin() + nb);
  }
  start_.swap(start);
  post16_.swap(post16);
  post32_.swap(post32);
  weight_.swap(weight);
  delay_.swap(delay);
}

void SynapseMatrix::insert_sorted(std::vector<Candidate>& c) {
  if (c.empty()) return;
  std::vector<int64_t> extra(size_t(n_pre_), 0);
  for (const auto& x : c) ++extra[size_t(x.pre)];
  bool overflow = false;
  for (int32_t r = 0; r < n_pre_ && !overflow; ++r)
    overflow = len_[size_t(r)] + extra[size_t(r)] > start_[size_t(r) + 1] - start_[size_t(r)];
  if (overflow) repack(extra, 0.125);
  // backwards merge of each row with its new entries (stable: existing before new on equal post)
  size_t ci = c.size();
  for (int32_t r = n_pre_ - 1; r >= 0 && ci > 0; --r) {
    const int64_t k = extra[size_t(r)];
    if (k == 0) continue;
    const int64_t b = start_[size_t(r)];
    int64_t i = b + len_[size_t(r)] - 1;  // last existing
    int64_t out = b + len_[size_t(r)] + k - 1;
    int64_t j = int64_t(ci) - 1;  // last candidate of this row
    const int64_t jstop = j - k;
    while (j > jstop) {
      const Candidate& x = c[size_t(j)];
      if (i >= b && post_at(i) > x.post) {
        set_post(out, post_at(i));
        weight_[size_t(out)] = weight_[size_t(i)];
        delay_[size_t(out)] = delay_[size_t(i)];
        --i;
      } else {
        set_post(out, x.post);
        weight_[size_t(out)] = x.weight;
        delay_[size_t(out)] = x.delay;
        --j;
      }
      --out;
    }
    len_[size_t(r)] += int32_t(k);
    ci -= size_t(k);
  }
  nnz_ += int64_t(c.size());
}

void SynapseMatrix::insert(const int32_t* pre, const int32_t* post, const float* weight,
                           const uint16_t* delay, int64_t n) {
  require(n >= 0, "n", "must be >= 0");
  std::vector<Candidate> c(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) {
    require_index(pre[k], n_pre_, "pre");
    require_index(post[k], n_post_, "post");
    if (weight) require_finite(weight[k], "weight");
    if (delay) require(delay[k] >= 1, "delay", "must be >= 1 step");
    c[size_t(k)] = {pre[k], post[k], weight ? weight[k] : 0.f, delay ? delay[k] : uint16_t(1)};
  }
  std::stable_sort(c.begin(), c.end(), [](const Candidate& a, const Candidate& b) {
    return a.pre != b.pre ? a.pre < b.pre : a.post < b.post;
  });
  insert_sorted(c);
}

int64_t SynapseMatrix::regrow_random(int64_t count, float weight, uint16_t delay,
                                     bool allow_autapses, bool allow_multapses, uint64_t seed,
                                     uint64_t step, int32_t post_per_pre, const RankSplit& split) {
  require(count >= 0, "count", "must be >= 0");
  require(post_per_pre >= 1, "post_per_pre", "must be >= 1");
  const int32_t K = post_per_pre;  // autapse: pre == post / K (compartments of one neuron)
  require_finite(weight, "weight");
  require(delay >= 1, "delay", "must be >= 1 step");
  if (count == 0) return 0;
  require(n_pre_ > 0 && n_post_ > 0, "count", "cannot regrow into an empty matrix");
  // this rank's columns (one process: all); the draws are those of the whole matrix
  const int32_t c0 = std::max<int32_t>(0, split.col_lo), c1 = std::min(n_post_, split.col_hi);
  if (!allow_multapses) {
    // distinct occupied positions (multapses count once), autapses excluded from the free set
    int64_t occupied = 0;
    for (int32_t r = 0; r < n_pre_; ++r)
      for (int64_t p = row_begin(r); p < row_end(r); ++p)
        occupied += (p == row_begin(r) || post_at(p) != post_at(p - 1)) &&
                    (allow_autapses || post_at(p) / K != r);
    occupied = split.sum(occupied);
    // autapse positions: columns [0, n_pre K) (row r owns columns rK .. rK + K - 1)
    const int64_t diag = allow_autapses ? 0 : std::min<int64_t>(int64_t(n_pre_) * K, n_post_);
    const int64_t free_pos = int64_t(n_pre_) * n_post_ - diag - occupied;
    require(count <= free_pos, "count",
            "asks for " + std::to_string(count) + " new synapses but only " +
                std::to_string(free_pos) + " positions are free");
  } else if (!allow_autapses) {
    require(int64_t(n_pre_) * n_post_ > std::min<int64_t>(int64_t(n_pre_) * K, n_post_), "count",
            "no position is free of autapses");
  }
  struct Draw {
    int32_t pre, post;
    int64_t idx;
  };
  int64_t remaining = count;
  std::vector<Draw> draws;
  std::vector<int64_t> bucket(size_t(n_pre_) + 1);
  std::vector<Draw> sorted;
  std::vector<Candidate> accepted;
  for (uint64_t round = 0; remaining > 0; ++round) {
    const int64_t m = remaining + remaining / 8 + 16;
    CounterRng rng(seed, kStreamRegrow, round, step);
    draws.clear();
    for (int64_t k = 0; k < m; ++k) {
      const int32_t a = int32_t(rng.below(uint64_t(n_pre_)));
      const int32_t b = int32_t(rng.below(uint64_t(n_post_)));
      if ((!allow_autapses && a == b / K) || b < c0 || b >= c1) continue;
      draws.push_back({a, b, k});
    }
    // counting sort by pre, then sort each small bucket by (post, draw index)
    std::fill(bucket.begin(), bucket.end(), 0);
    for (const auto& d : draws) ++bucket[size_t(d.pre) + 1];
    for (int32_t r = 0; r < n_pre_; ++r) bucket[size_t(r) + 1] += bucket[size_t(r)];
    sorted.resize(draws.size());
    {
      std::vector<int64_t> at(bucket.begin(), bucket.end() - 1);
      for (const auto& d : draws) sorted[size_t(at[size_t(d.pre)]++)] = d;
    }
    std::vector<Draw> valid;
    valid.reserve(sorted.size());
    for (int32_t r = 0; r < n_pre_; ++r) {
      auto b = sorted.begin() + bucket[size_t(r)], e = sorted.begin() + bucket[size_t(r) + 1];
      if (b == e) continue;
      std::sort(b, e, [](const Draw& x, const Draw& y) {
        return x.post != y.post ? x.post < y.post : x.idx < y.idx;
      });
      // candidates and row are both sorted by post: one merge walk finds existing synapses
      int64_t rp = row_begin(r);
      const int64_t re = row_end(r);
      for (auto it = b; it != e; ++it) {
        if (!allow_multapses) {
          if (it != b && (it - 1)->post == it->post) continue;  // duplicate draw
          while (rp != re && post_at(rp) < it->post) ++rp;
          if (rp != re && post_at(rp) == it->post) continue;  // already a synapse
        }
        valid.push_back(*it);
      }
    }
    // Keep the `remaining` earliest valid draws of all ranks, so that acceptance does not
    // depend on position: which draws are valid, summed over the ranks (each draw is valid on
    // at most one: its column's), gives every rank the same cutoff draw index.
    std::vector<int64_t> is_valid(static_cast<size_t>(m), 0);
    for (const auto& d : valid) is_valid[size_t(d.idx)] = 1;
    split.sum(is_valid);
    int64_t n_valid = 0, cutoff = m;
    for (int64_t k = 0; k < m; ++k)
      if (is_valid[size_t(k)] && ++n_valid == remaining) cutoff = k;
    if (n_valid > remaining) {  // filter in place (keeps the (pre, post) order; no re-sort)
      size_t w = 0;
      for (size_t k = 0; k < valid.size(); ++k)
        if (valid[k].idx <= cutoff) valid[w++] = valid[k];
      valid.resize(w);
    }
    accepted.clear();
    for (const auto& d : valid) accepted.push_back({d.pre, d.post, weight, delay});
    insert_sorted(accepted);
    remaining -= std::min(n_valid, remaining);
  }
  return count;
}

int64_t SynapseMatrix::regrow_top_scores(int64_t count, const float* scores, float weight,
                                         uint16_t delay, bool allow_autapses, int32_t post_per_pre,
                                         const RankSplit& split) {
  require(count >= 0, "count", "must be >= 0");
  require(post_per_pre >= 1, "post_per_pre", "must be >= 1");
  require_finite(weight, "weight");
  require(delay >= 1, "delay", "must be >= 1 step");
  if (count == 0) return 0;
  const int32_t c0 = std::max<int32_t>(0, split.col_lo), c1 = std::min(n_post_, split.col_hi);
  // The free positions of this rank's columns in row-major order, each with its score as a key
  // that orders like the scores, largest first (-0 counts as +0).
  std::vector<uint32_t> key;
  std::vector<int32_t> row_of, col_of;
  int64_t bad = 0;
  for (int32_t r = 0; r < n_pre_; ++r) {
    int64_t rp = row_begin(r);
    const int64_t re = row_end(r);
    for (int32_t c = c0; c < c1; ++c) {
      while (rp != re && post_at(rp) < c) ++rp;
      if (rp != re && post_at(rp) == c) continue;  // occupied
      if (!allow_autapses && r == c / post_per_pre) continue;
      const float s = scores[size_t(r) * size_t(n_post_) + size_t(c)];
      if (!std::isfinite(s)) {
        bad = 1;
        continue;
      }
      const uint32_t u = float_bits(s == 0.f ? 0.f : s);
      key.push_back(~((u & 0x80000000u) ? ~u : (u | 0x80000000u)));
      row_of.push_back(r);
      col_of.push_back(c);
    }
  }
  std::vector<int64_t> totals{int64_t(key.size()), bad};
  split.sum(totals);  // the same verdict on every rank
  if (totals[1] > 0) throw value_error("scores: must be finite");
  require(count <= totals[0], "count",
          "asks for " + std::to_string(count) + " new synapses but only " +
              std::to_string(totals[0]) + " positions are free");
  int64_t ties;  // the top `count` (ties: lower position first), over all ranks
  const uint32_t tau = kth_smallest(key, count, split, ties);
  const std::vector<uint8_t> take = take_below_and_ties(key, row_of, n_pre_, tau, ties, split);
  std::vector<Candidate> c;
  for (size_t i = 0; i < key.size(); ++i)
    if (take[i]) c.push_back({row_of[i], col_of[i], weight, delay});  // sorted by (pre, post)
  insert_sorted(c);
  return count;
}

void SynapseMatrix::check_invariants() const {
  int64_t total = 0;
  if (start_.size() != size_t(n_pre_) + 1) throw std::logic_error("start size");
  for (int32_t r = 0; r < n_pre_; ++r) {
    if (len_[size_t(r)] < 0 || start_[size_t(r)] + len_[size_t(r)] > start_[size_t(r) + 1])
      throw std::logic_error("row capacity");
    for (int64_t p = row_begin(r); p < row_end(r); ++p) {
      if (post_at(p) < 0 || post_at(p) >= n_post_) throw std::logic_error("post range");
      if (p > row_begin(r) && post_at(p) < post_at(p - 1)) throw std::logic_error("row not sorted");
    }
    total += len_[size_t(r)];
  }
  if (total != nnz_) throw std::logic_error("nnz");
  if (narrow_ != (n_post_ <= 65536) ||
      int64_t(narrow_ ? post16_.size() : post32_.size()) != int64_t(weight_.size()))
    throw std::logic_error("target index width");
}

}  // namespace spikecore
