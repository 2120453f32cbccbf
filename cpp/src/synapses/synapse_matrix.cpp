#include "spikecore/synapses/synapse_matrix.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "spikecore/core/errors.hpp"
#include "spikecore/core/rng.hpp"

namespace spikecore {

namespace {
constexpr uint64_t kStreamPrune = 0x5052554eull;   // "PRUN"
constexpr uint64_t kStreamRegrow = 0x52454752ull;  // "REGR"

int64_t fraction_count(double fraction, int64_t nnz, const char* arg) {
  require_finite(fraction, arg);
  require(fraction >= 0 && fraction <= 1, arg,
          "must be in [0, 1], got " + std::to_string(fraction));
  return std::llround(fraction * double(nnz));
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
  std::vector<int32_t> tp(static_cast<size_t>(total));  // targets as int32 while sorting
  m.weight_.resize(size_t(total));
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
  if (m.narrow_)
    m.post16_.assign(tp.begin(), tp.end());  // every target < n_post <= 65536
  else
    m.post32_.swap(tp);
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

int64_t SynapseMatrix::prune_smallest(double fraction) {
  const int64_t k = fraction_count(fraction, nnz_, "fraction");
  if (k == 0) return 0;
  std::vector<float> mag(static_cast<size_t>(nnz_));
  {
    int64_t i = 0;
    for (int32_t r = 0; r < n_pre_; ++r)
      for (int64_t p = row_begin(r); p < row_end(r); ++p)
        mag[size_t(i++)] = std::fabs(weight_[size_t(p)]);
  }
  std::vector<float> tmp(mag);
  std::nth_element(tmp.begin(), tmp.begin() + (k - 1), tmp.end());
  const float tau = tmp[size_t(k - 1)];
  tmp.clear();
  tmp.shrink_to_fit();
  int64_t below = 0;
  for (float m : mag) below += (m < tau);
  int64_t ties = k - below;  // remove this many |w| == tau, lowest positions first
  std::vector<uint8_t> remove(size_t(nnz_), 0);
  for (size_t i = 0; i < mag.size(); ++i) {
    if (mag[i] < tau)
      remove[i] = 1;
    else if (mag[i] == tau && ties > 0) {
      remove[i] = 1;
      --ties;
    }
  }
  return compact(remove);
}

int64_t SynapseMatrix::prune_random(double fraction, uint64_t seed, uint64_t step) {
  int64_t k = fraction_count(fraction, nnz_, "fraction");
  if (k == 0) return 0;
  // Selection sampling (Knuth's Algorithm S): exactly k of nnz, uniformly, one 32-bit draw each.
  CounterRng rng(seed, kStreamPrune, 0, step);
  std::vector<uint8_t> remove(size_t(nnz_), 0);
  int64_t left = nnz_;
  for (int64_t i = 0; i < nnz_ && k > 0; ++i, --left) {
    const double u = (double(rng.next_u32()) + 0.5) * (1.0 / 4294967296.0);
    if (u * double(left) < double(k)) {
      remove[size_t(i)] = 1;
      --k;
    }
  }
  return compact(remove);
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
  std::vector<uint16_t> post16(narrow_ ? total : 0);
  std::vector<int32_t> post32(narrow_ ? 0 : total);
  std::vector<float> weight(total);
  std::vector<uint16_t> delay(total);
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
                                     uint64_t step, int32_t post_per_pre) {
  require(count >= 0, "count", "must be >= 0");
  require(post_per_pre >= 1, "post_per_pre", "must be >= 1");
  const int32_t K = post_per_pre;  // autapse: pre == post / K (compartments of one neuron)
  require_finite(weight, "weight");
  require(delay >= 1, "delay", "must be >= 1 step");
  if (count == 0) return 0;
  require(n_pre_ > 0 && n_post_ > 0, "count", "cannot regrow into an empty matrix");
  if (!allow_multapses) {
    // distinct occupied positions (multapses count once), autapses excluded from the free set
    int64_t occupied = 0;
    for (int32_t r = 0; r < n_pre_; ++r)
      for (int64_t p = row_begin(r); p < row_end(r); ++p)
        occupied += (p == row_begin(r) || post_at(p) != post_at(p - 1)) &&
                    (allow_autapses || post_at(p) / K != r);
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
      if (!allow_autapses && a == b / K) continue;
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
    if (int64_t(valid.size()) > remaining) {
      // Keep the `remaining` earliest draws, so that acceptance does not depend on position.
      // Draw indices are unique: find the cutoff index, then filter in place (keeps the
      // (pre, post) order; no re-sort).
      std::vector<int64_t> idx(valid.size());
      for (size_t k = 0; k < valid.size(); ++k) idx[k] = valid[k].idx;
      std::nth_element(idx.begin(), idx.begin() + (remaining - 1), idx.end());
      const int64_t cutoff = idx[size_t(remaining - 1)];
      size_t w = 0;
      for (size_t k = 0; k < valid.size(); ++k)
        if (valid[k].idx <= cutoff) valid[w++] = valid[k];
      valid.resize(w);
    }
    accepted.clear();
    for (const auto& d : valid) accepted.push_back({d.pre, d.post, weight, delay});
    insert_sorted(accepted);
    remaining -= int64_t(accepted.size());
  }
  return count;
}

int64_t SynapseMatrix::regrow_top_scores(int64_t count, const float* scores, float weight,
                                         uint16_t delay, bool allow_autapses,
                                         int32_t post_per_pre) {
  require(count >= 0, "count", "must be >= 0");
  require(post_per_pre >= 1, "post_per_pre", "must be >= 1");
  require_finite(weight, "weight");
  require(delay >= 1, "delay", "must be >= 1 step");
  if (count == 0) return 0;
  std::vector<uint8_t> mask(size_t(n_pre_) * size_t(n_post_));
  to_mask(mask.data());
  std::vector<int64_t> free_idx;
  free_idx.reserve(mask.size());
  for (int64_t i = 0; i < int64_t(mask.size()); ++i) {
    if (mask[size_t(i)]) continue;
    if (!allow_autapses && i / n_post_ == (i % n_post_) / post_per_pre) continue;
    if (!std::isfinite(scores[i])) throw value_error("scores: must be finite");
    free_idx.push_back(i);
  }
  require(count <= int64_t(free_idx.size()), "count",
          "asks for " + std::to_string(count) + " new synapses but only " +
              std::to_string(free_idx.size()) + " positions are free");
  auto better = [&](int64_t a, int64_t b) {
    return scores[a] != scores[b] ? scores[a] > scores[b] : a < b;
  };
  std::nth_element(free_idx.begin(), free_idx.begin() + (count - 1), free_idx.end(), better);
  free_idx.resize(size_t(count));
  std::sort(free_idx.begin(), free_idx.end());
  std::vector<Candidate> c(static_cast<size_t>(count));
  for (int64_t k = 0; k < count; ++k)
    c[size_t(k)] = {int32_t(free_idx[size_t(k)] / n_post_), int32_t(free_idx[size_t(k)] % n_post_),
                    weight, delay};
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
