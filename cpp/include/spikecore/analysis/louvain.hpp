#pragma once
// Generalized Louvain (Blondel et al. 2008; Jutla, Jeub & Mucha's GenLouvain) on an explicit,
// symmetric modularity matrix B stored sparsely, and the signed multilayer modularity matrix of
// Mucha et al. (2010) built without ever materialising the (N L) x (N L) supra-matrix densely:
//
//   B_s      = [A+_s - g+ k+_s k+_s^T / 2m+_s] - [A-_s - g- k-_s k-_s^T / 2m-_s]   (per layer)
//   B_{is,jr} = B_s(i,j) delta_sr + omega delta_ij [|s - r| = 1]                  (ordinal
//   coupling) Q        = 1/(2 mu) sum_{is,jr} B_{is,jr} delta(g_is, g_jr), 2 mu     = sum_s (2m+_s
//   + 2m-_s) + 2 omega N (L - 1).
//
// A+ = max(A, 0), A- = max(-A, 0), diagonal of A ignored (set to 0). A layer without positive
// (negative) weights has no positive (negative) term.
//
// Louvain: nodes visited in a seeded random order; each moves to the neighbouring community (or
// an empty one) with the largest gain sum_{v in c} B_uv - sum_{v in own c, v != u} B_uv, until a
// pass moves nothing; communities are then aggregated (B'_CD = sum_{u in C, v in D} B_uv) and the
// procedure repeats until a level moves nothing. Deterministic for a given seed.
#include <cstdint>
#include <vector>

namespace spikecore {
namespace analysis {

struct SparseSym {  // CSR, both triangles stored, self-loops allowed
  int64_t n = 0;
  std::vector<int64_t> rowptr;
  std::vector<int32_t> col;
  std::vector<double> val;
};

struct LouvainResult {
  std::vector<int64_t> membership;  // community of each node, numbered 0..K-1 by first appearance
  double sum_B = 0.0;               // sum_{uv} B_uv delta(g_u, g_v)
  int levels = 0;
};

// A: L layers of N x N, row-major, symmetric (checked to tol), finite (checked).
SparseSym multilayer_modularity_matrix(const double* A, int64_t L, int64_t N, double gamma_pos,
                                       double gamma_neg, double omega, double* twomu);

// A dense n x n modularity matrix (row-major; finite and symmetric to 1e-9 relative, checked,
// errors name "B") as a SparseSym holding its nonzero entries.
SparseSym sparse_from_dense(const double* B, int64_t n);

LouvainResult louvain(const SparseSym& B, uint64_t seed, int max_levels = 100,
                      int max_passes = 1000);

// sum_{uv} B_uv delta(g_u, g_v) for a given membership (length B.n).
double partition_score(const SparseSym& B, const int64_t* membership);

}  // namespace analysis
}  // namespace spikecore
