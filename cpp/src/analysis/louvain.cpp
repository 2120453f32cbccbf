#include "spikecore/analysis/louvain.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <string>

#include "spikecore/core/errors.hpp"

namespace spikecore {
namespace analysis {

SparseSym multilayer_modularity_matrix(const double* A, int64_t L, int64_t N, double gamma_pos,
                                       double gamma_neg, double omega, double* twomu) {
  require(L >= 1, "A", "needs at least one layer");
  require(N >= 1, "A", "needs at least one node");
  require_nonnegative(gamma_pos, "gamma_pos");
  require_nonnegative(gamma_neg, "gamma_neg");
  require_nonnegative(omega, "omega");
  require(N * L < (int64_t(1) << 31), "A", "too many node-layer pairs");
  const int64_t NN = N * N;
  for (int64_t s = 0; s < L; ++s) {
    const double* As = A + s * NN;
    for (int64_t i = 0; i < N; ++i)
      for (int64_t j = 0; j < N; ++j) {
        const double v = As[i * N + j];
        if (!std::isfinite(v))
          throw value_error("A: layer " + std::to_string(s) + " has a non-finite entry at (" +
                            std::to_string(i) + ", " + std::to_string(j) + ")");
        if (j > i) {
          const double w = As[j * N + i];
          if (std::fabs(v - w) > 1e-9 * std::max(1.0, std::fabs(v)))
            throw value_error("A: layer " + std::to_string(s) + " is not symmetric at (" +
                              std::to_string(i) + ", " + std::to_string(j) + ")");
        }
      }
  }
  SparseSym B;
  B.n = N * L;
  B.rowptr.resize(static_cast<size_t>(B.n + 1));
  const size_t nnz = static_cast<size_t>(L * NN + 2 * N * (L - 1));
  B.col.reserve(nnz);
  B.val.reserve(nnz);
  std::vector<double> kp(static_cast<size_t>(N)), kn(static_cast<size_t>(N));
  double total = 0.0;
  int64_t row = 0;
  for (int64_t s = 0; s < L; ++s) {
    const double* As = A + s * NN;
    double mp = 0.0, mn = 0.0;
    for (int64_t i = 0; i < N; ++i) {
      double p = 0.0, q = 0.0;
      for (int64_t j = 0; j < N; ++j) {
        if (j == i) continue;
        const double v = As[i * N + j];
        if (v > 0)
          p += v;
        else
          q -= v;
      }
      kp[i] = p;
      kn[i] = q;
      mp += p;
      mn += q;
    }
    total += mp + mn;
    const double cp = mp > 0 ? gamma_pos / mp : 0.0;
    const double cn = mn > 0 ? gamma_neg / mn : 0.0;
    for (int64_t i = 0; i < N; ++i, ++row) {
      B.rowptr[static_cast<size_t>(row)] = static_cast<int64_t>(B.col.size());
      if (s > 0) {
        B.col.push_back(static_cast<int32_t>(row - N));
        B.val.push_back(omega);
      }
      for (int64_t j = 0; j < N; ++j) {
        double v = (j == i) ? 0.0 : As[i * N + j];
        const double ap = v > 0 ? v : 0.0, an = v < 0 ? -v : 0.0;
        const double b = (ap - cp * kp[i] * kp[j]) - (an - cn * kn[i] * kn[j]);
        B.col.push_back(static_cast<int32_t>(s * N + j));
        B.val.push_back(b);
      }
      if (s + 1 < L) {
        B.col.push_back(static_cast<int32_t>(row + N));
        B.val.push_back(omega);
      }
    }
  }
  B.rowptr[static_cast<size_t>(B.n)] = static_cast<int64_t>(B.col.size());
  *twomu = total + 2.0 * omega * static_cast<double>(N) * static_cast<double>(L - 1);
  return B;
}

SparseSym sparse_from_dense(const double* B, int64_t n) {
  require(n >= 0, "B", "size must be >= 0");
  SparseSym S;
  S.n = n;
  S.rowptr.resize(size_t(n + 1));
  for (int64_t i = 0; i < n; ++i) {
    S.rowptr[size_t(i)] = int64_t(S.col.size());
    for (int64_t j = 0; j < n; ++j) {
      const double v = B[i * n + j];
      require_finite(v, "B");
      require(std::fabs(v - B[j * n + i]) <= 1e-9 * std::max(1.0, std::fabs(v)), "B",
              "must be symmetric");
      if (v != 0.0) {
        S.col.push_back(int32_t(j));
        S.val.push_back(v);
      }
    }
  }
  S.rowptr[size_t(n)] = int64_t(S.col.size());
  return S;
}

double partition_score(const SparseSym& B, const int64_t* g) {
  double q = 0.0;
  for (int64_t u = 0; u < B.n; ++u)
    for (int64_t e = B.rowptr[u]; e < B.rowptr[u + 1]; ++e)
      if (g[u] == g[B.col[static_cast<size_t>(e)]]) q += B.val[static_cast<size_t>(e)];
  return q;
}

namespace {

// One level of local moving. comm: in/out community per node (ids < n). Returns number of moves.
int64_t local_moving(const SparseSym& B, std::vector<int64_t>& comm, std::mt19937_64& rng,
                     int max_passes) {
  const int64_t n = B.n;
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<int64_t> size(static_cast<size_t>(n), 0);
  for (int64_t u = 0; u < n; ++u) ++size[static_cast<size_t>(comm[u])];
  std::vector<int64_t> empty;
  for (int64_t c = n - 1; c >= 0; --c)
    if (size[static_cast<size_t>(c)] == 0) empty.push_back(c);
  std::vector<double> acc(static_cast<size_t>(n), 0.0);
  std::vector<char> seen(static_cast<size_t>(n), 0);
  std::vector<int64_t> touched;
  int64_t total_moves = 0;
  const double eps = 1e-12;
  for (int pass = 0; pass < max_passes; ++pass) {
    int64_t moves = 0;
    for (int64_t u : order) {
      const int64_t c0 = comm[static_cast<size_t>(u)];
      touched.clear();
      double scale = 0.0;
      for (int64_t e = B.rowptr[u]; e < B.rowptr[u + 1]; ++e) {
        const int64_t v = B.col[static_cast<size_t>(e)];
        if (v == u) continue;
        const int64_t c = comm[static_cast<size_t>(v)];
        if (!seen[static_cast<size_t>(c)]) {
          seen[static_cast<size_t>(c)] = 1;
          touched.push_back(c);
        }
        acc[static_cast<size_t>(c)] += B.val[static_cast<size_t>(e)];
        scale += std::fabs(B.val[static_cast<size_t>(e)]);
      }
      const double tol = eps * std::max(1.0, scale);
      double stay = seen[static_cast<size_t>(c0)] ? acc[static_cast<size_t>(c0)] : 0.0;
      int64_t best = c0;
      double best_gain = stay;
      for (int64_t c : touched) {
        if (c == c0) continue;
        if (acc[static_cast<size_t>(c)] > best_gain + tol) {
          best_gain = acc[static_cast<size_t>(c)];
          best = c;
        }
      }
      // an empty community: gain 0 (only useful when u is not alone)
      if (best == c0 && size[static_cast<size_t>(c0)] > 1 && 0.0 > stay + tol && !empty.empty()) {
        best = empty.back();
        best_gain = 0.0;
      }
      for (int64_t c : touched) {
        acc[static_cast<size_t>(c)] = 0.0;
        seen[static_cast<size_t>(c)] = 0;
      }
      if (best != c0) {
        if (!empty.empty() && best == empty.back()) empty.pop_back();
        --size[static_cast<size_t>(c0)];
        ++size[static_cast<size_t>(best)];
        if (size[static_cast<size_t>(c0)] == 0) empty.push_back(c0);
        comm[static_cast<size_t>(u)] = best;
        ++moves;
      }
    }
    total_moves += moves;
    if (moves == 0) break;
  }
  return total_moves;
}

// Renumber communities 0..K-1 by first appearance; returns K.
int64_t renumber(std::vector<int64_t>& comm) {
  std::vector<int64_t> map(comm.size(), -1);
  int64_t K = 0;
  for (auto& c : comm) {
    if (map[static_cast<size_t>(c)] < 0) map[static_cast<size_t>(c)] = K++;
    c = map[static_cast<size_t>(c)];
  }
  return K;
}

SparseSym aggregate(const SparseSym& B, const std::vector<int64_t>& comm, int64_t K) {
  std::vector<std::vector<int64_t>> members(static_cast<size_t>(K));
  for (int64_t u = 0; u < B.n; ++u) members[static_cast<size_t>(comm[u])].push_back(u);
  SparseSym out;
  out.n = K;
  out.rowptr.resize(static_cast<size_t>(K + 1));
  std::vector<double> acc(static_cast<size_t>(K), 0.0);
  std::vector<char> seen(static_cast<size_t>(K), 0);
  std::vector<int64_t> touched;
  for (int64_t C = 0; C < K; ++C) {
    out.rowptr[static_cast<size_t>(C)] = static_cast<int64_t>(out.col.size());
    touched.clear();
    for (int64_t u : members[static_cast<size_t>(C)])
      for (int64_t e = B.rowptr[u]; e < B.rowptr[u + 1]; ++e) {
        const int64_t D = comm[static_cast<size_t>(B.col[static_cast<size_t>(e)])];
        if (!seen[static_cast<size_t>(D)]) {
          seen[static_cast<size_t>(D)] = 1;
          touched.push_back(D);
        }
        acc[static_cast<size_t>(D)] += B.val[static_cast<size_t>(e)];
      }
    std::sort(touched.begin(), touched.end());
    for (int64_t D : touched) {
      out.col.push_back(static_cast<int32_t>(D));
      out.val.push_back(acc[static_cast<size_t>(D)]);
      acc[static_cast<size_t>(D)] = 0.0;
      seen[static_cast<size_t>(D)] = 0;
    }
  }
  out.rowptr[static_cast<size_t>(K)] = static_cast<int64_t>(out.col.size());
  return out;
}

}  // namespace

LouvainResult louvain(const SparseSym& B0, uint64_t seed, int max_levels, int max_passes) {
  require(B0.n >= 1, "B", "needs at least one node");
  require(static_cast<int64_t>(B0.rowptr.size()) == B0.n + 1, "B", "row pointer size mismatch");
  for (double v : B0.val) require_finite(v, "B");
  std::mt19937_64 rng(seed);
  LouvainResult res;
  res.membership.resize(static_cast<size_t>(B0.n));
  std::iota(res.membership.begin(), res.membership.end(), 0);
  // Iterated Louvain: rerun the level hierarchy starting from the previous result until it no
  // longer changes, so that nodes merged too early at a coarse level can still move.
  for (int outer = 0; outer < 50; ++outer) {
    const std::vector<int64_t> start = res.membership;
    SparseSym level_graph;
    const SparseSym* G = &B0;
    for (int level = 0; level < max_levels; ++level) {
      std::vector<int64_t> comm(static_cast<size_t>(G->n));
      if (level == 0)
        comm = res.membership;
      else
        std::iota(comm.begin(), comm.end(), 0);
      const int64_t moves = local_moving(*G, comm, rng, max_passes);
      const int64_t K = renumber(comm);
      if (level == 0)
        res.membership = comm;  // level-0 nodes are the original nodes
      else
        for (auto& m : res.membership) m = comm[static_cast<size_t>(m)];
      res.levels = std::max(res.levels, level + 1);
      if (K == G->n || (moves == 0 && level > 0)) break;
      level_graph = aggregate(*G, comm, K);
      G = &level_graph;
    }
    renumber(res.membership);
    if (res.membership == start) break;
  }
  res.sum_B = partition_score(B0, res.membership.data());
  return res;
}

}  // namespace analysis
}  // namespace spikecore
