#pragma once
// SynapseMatrix: compressed rows by presynaptic neuron, the one connectivity type of spikecore.
// The engine's projections and nn.SparseLinear both use it.
//
// Layout (structure of arrays, 8 bytes per synapse (10 when wide) plus 12 bytes per row):
//   row r occupies positions [start[r], start[r] + len[r]) of post / weight / delay, and owns
//   capacity up to start[r + 1] ("slack"), so regrowth rarely rebuilds the matrix.
//   post   target index, rows kept sorted by post (ties: insertion order); stored as uint16
//          when the target range fits 16 bits (n_post <= 65,536: "narrow", 2 bytes per
//          synapse, which halves the bytes the engine's delivery loop streams per event), else
//          as int32 ("wide", the fallback). The width is fixed by n_post at construction.
//   weight float32
//   delay  uint16  in steps (>= 1 for the engine; SparseLinear ignores it)
//
// Structural plasticity is O(number of synapses) and deterministic for a given (seed, step):
// prune_smallest / prune_random / prune_below remove synapses; regrow_random / regrow_top_scores
// insert new ones into inactive positions. Slots beyond len are garbage and never read.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <vector>

namespace spikecore {

// A matrix split across ranks by target columns (an engine projection on MPI ranks: every rank
// holds the synapses onto its own columns [col_lo, col_hi) of the same n_pre x n_post matrix).
// Structural plasticity on such a part decides exactly as one process on the whole matrix (the
// same synapses removed, the same positions grown), given two collective operations on int64
// vectors that every rank calls in the same order, which the caller supplies (mpi4py in
// spikecore.sim.distributed; the core links no MPI): reduce(v, n, false) replaces v by its
// element-wise sum over the ranks, reduce(v, n, true) by the element-wise sum over the ranks
// before this one (exclusive scan; zeros on the first rank). The default is one process.
struct RankSplit {
  int32_t col_lo = 0, col_hi = std::numeric_limits<int32_t>::max();
  std::function<void(int64_t* v, int64_t n, bool exscan)> reduce;  // empty: one process
  void sum(std::vector<int64_t>& v) const {
    if (reduce) reduce(v.data(), int64_t(v.size()), false);
  }
  void exscan(std::vector<int64_t>& v) const {
    if (reduce)
      reduce(v.data(), int64_t(v.size()), true);
    else
      std::fill(v.begin(), v.end(), int64_t(0));
  }
  int64_t sum(int64_t x) const {
    std::vector<int64_t> v{x};
    sum(v);
    return v[0];
  }
};

class SynapseMatrix {
 public:
  SynapseMatrix() = default;
  SynapseMatrix(int32_t n_pre, int32_t n_post);

  // Build from triplets in any order; delay may be null (all 1). Rows are sorted by post,
  // stable for repeated (pre, post) pairs. `slack` is the fraction of extra capacity per row.
  static SynapseMatrix from_coo(int32_t n_pre, int32_t n_post, const int32_t* pre,
                                const int32_t* post, const float* weight, const uint16_t* delay,
                                int64_t nnz, double slack = 0.0);

  int32_t n_pre() const { return n_pre_; }
  int32_t n_post() const { return n_post_; }
  int64_t nnz() const { return nnz_; }
  int64_t capacity() const { return int64_t(weight_.size()); }
  int64_t row_begin(int32_t r) const { return start_[size_t(r)]; }
  int64_t row_end(int32_t r) const { return start_[size_t(r)] + len_[size_t(r)]; }
  int32_t row_len(int32_t r) const { return len_[size_t(r)]; }
  // Target index storage: exactly one of post16 / post32 is non-null (unless capacity is 0).
  bool narrow() const { return narrow_; }
  int index_bytes() const { return narrow_ ? 2 : 4; }
  const uint16_t* post16() const { return narrow_ ? post16_.data() : nullptr; }
  const int32_t* post32() const { return narrow_ ? nullptr : post32_.data(); }
  int32_t post_at(int64_t k) const {
    return narrow_ ? int32_t(post16_[size_t(k)]) : post32_[size_t(k)];
  }
  // First position in [b, e) whose target is >= p (the row is sorted by target).
  int64_t lower_bound_post(int64_t b, int64_t e, int32_t p) const;
  const float* weight() const { return weight_.data(); }
  float* weight() { return weight_.data(); }
  const uint16_t* delay() const { return delay_.data(); }
  uint16_t* delay() { return delay_.data(); }
  int32_t max_delay() const;
  // Bytes held by the arrays (capacity included).
  size_t memory_bytes() const;

  // Replace every weight; w holds nnz finite values in row order (the order of to_coo).
  // Validated before anything is written (throws value_error naming "weight").
  void set_weights(const float* w, int64_t n);
  // Synapses in row order (pre ascending, post ascending); any output pointer may be null.
  void to_coo(int32_t* pre, int32_t* post, float* weight, uint16_t* delay) const;
  // Dense [n_pre, n_post] row-major matrix of summed weights.
  void to_dense(float* out) const;
  // Mask of existing (pre, post) positions, [n_pre, n_post] row-major.
  void to_mask(uint8_t* out) const;
  // Is there at least one synapse pre -> post? O(log row length).
  bool contains(int32_t pre, int32_t post) const;

  // Remove round(fraction * nnz) synapses with the smallest |weight| (ties: lower position
  // first). fraction in [0, 1]. Returns the number removed. With a RankSplit (here and below)
  // nnz, positions and the count returned are those of the whole matrix over all ranks.
  int64_t prune_smallest(double fraction, const RankSplit& split = {});
  // Remove round(fraction * nnz) synapses chosen uniformly at random (selection sampling over
  // the positions in row order; every rank draws the whole sequence and keeps its part).
  int64_t prune_random(double fraction, uint64_t seed, uint64_t step, const RankSplit& split = {});
  // Remove every synapse with |weight| < threshold.
  int64_t prune_below(float threshold);
  // Remove the synapses whose flag is nonzero (flags indexed by position in row order, nnz long).
  int64_t prune_flagged(const uint8_t* flags);

  // Insert `count` new synapses at uniformly random positions that hold none (unless
  // allow_multapses), skipping autapses unless allow_autapses. Throws value_error if there
  // are fewer free positions than count. Returns count. Autapse: pre == post / post_per_pre
  // (post_per_pre = K for a post population of K-branch neurons, whose columns are
  // compartments).
  int64_t regrow_random(int64_t count, float weight, uint16_t delay, bool allow_autapses,
                        bool allow_multapses, uint64_t seed, uint64_t step,
                        int32_t post_per_pre = 1, const RankSplit& split = {});
  // Insert `count` synapses at the free positions with the largest scores (dense [n_pre, n_post]
  // row-major; ties: lower position first). Autapses as in regrow_random.
  int64_t regrow_top_scores(int64_t count, const float* scores, float weight, uint16_t delay,
                            bool allow_autapses, int32_t post_per_pre = 1,
                            const RankSplit& split = {});
  // Insert the given synapses; (pre, post) need not be sorted. Rows grow as needed.
  void insert(const int32_t* pre, const int32_t* post, const float* weight, const uint16_t* delay,
              int64_t n);

  // Throws if an internal invariant is broken (tests).
  void check_invariants() const;

 private:
  struct Candidate {
    int32_t pre, post;
    float weight;
    uint16_t delay;
  };
  void insert_sorted(std::vector<Candidate>& c);  // c sorted by (pre, post)
  void repack(const std::vector<int64_t>& extra, double slack);
  int64_t compact(const std::vector<uint8_t>& remove);  // flags over positions in row order

  void set_post(int64_t k, int32_t p) {
    if (narrow_)
      post16_[size_t(k)] = uint16_t(p);
    else
      post32_[size_t(k)] = p;
  }
  void resize_post(size_t n) {
    if (narrow_)
      post16_.resize(n);
    else
      post32_.resize(n);
  }

  int32_t n_pre_ = 0, n_post_ = 0;
  bool narrow_ = true;  // n_post <= 65536: post16_ holds the targets, else post32_
  int64_t nnz_ = 0;
  std::vector<int64_t> start_;  // n_pre + 1
  std::vector<int32_t> len_;    // n_pre
  std::vector<uint16_t> post16_;
  std::vector<int32_t> post32_;
  std::vector<float> weight_;
  std::vector<uint16_t> delay_;
};

}  // namespace spikecore
