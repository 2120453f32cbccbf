// C++ unit tests: signed multilayer modularity matrix and generalized Louvain.
#include <cmath>
#include <vector>

#include "check.hpp"
#include "spikecore/analysis/louvain.hpp"
#include "spikecore/core/errors.hpp"

using namespace spikecore::analysis;

namespace {
// L layers of N nodes, two planted blocks (weights +1 inside, -1 across), zero diagonal
std::vector<double> planted(int64_t L, int64_t N) {
  std::vector<double> A(static_cast<size_t>(L * N * N));
  for (int64_t s = 0; s < L; ++s)
    for (int64_t i = 0; i < N; ++i)
      for (int64_t j = 0; j < N; ++j)
        A[static_cast<size_t>((s * N + i) * N + j)] =
            i == j ? 0.0 : ((i < N / 2) == (j < N / 2) ? 1.0 : -1.0);
  return A;
}
}  // namespace

TEST_CASE("modularity matrix rows sum to coupling only (null model balances degrees)") {
  const int64_t L = 3, N = 6;
  auto A = planted(L, N);
  double twomu = 0;
  SparseSym B = multilayer_modularity_matrix(A.data(), L, N, 1.0, 1.0, 1.0, &twomu);
  CHECK(B.n == L * N);
  CHECK(B.rowptr.back() == L * N * N + 2 * N * (L - 1));
  // with gamma = 1, sum_j B_s(i, j) = k+_i - k+_i - (k-_i - k-_i) = 0: rows sum to the coupling
  for (int64_t u = 0; u < B.n; ++u) {
    double s = 0;
    for (int64_t e = B.rowptr[u]; e < B.rowptr[u + 1]; ++e) s += B.val[static_cast<size_t>(e)];
    const int64_t layer = u / N;
    const double coupling = (layer > 0) + (layer + 1 < L);
    CHECK(std::fabs(s - coupling) < 1e-12);
  }
  // 2mu = sum over layers of (2m+ + 2m-) + 2 omega N (L - 1)
  const double per_layer = double(N * (N - 1));
  CHECK(std::fabs(twomu - (L * per_layer + 2.0 * N * (L - 1))) < 1e-9);
}

TEST_CASE("louvain recovers planted blocks, deterministic for a seed") {
  const int64_t L = 4, N = 10;
  auto A = planted(L, N);
  double twomu = 0;
  SparseSym B = multilayer_modularity_matrix(A.data(), L, N, 1.0, 1.0, 1.0, &twomu);
  LouvainResult r = louvain(B, 7);
  for (int64_t s = 0; s < L; ++s)
    for (int64_t i = 0; i < N; ++i)
      CHECK(r.membership[static_cast<size_t>(s * N + i)] == (i < N / 2 ? 0 : 1));
  LouvainResult r2 = louvain(B, 7);
  CHECK(r2.membership == r.membership && r2.sum_B == r.sum_B);
  CHECK(std::fabs(r.sum_B - partition_score(B, r.membership.data())) < 1e-12);
}

TEST_CASE("bad input raises value_error naming the argument") {
  std::vector<double> A = {0, 1, 2, 0};  // not symmetric
  double twomu = 0;
  bool thrown = false;
  try {
    multilayer_modularity_matrix(A.data(), 1, 2, 1.0, 1.0, 1.0, &twomu);
  } catch (const spikecore::value_error& e) {
    thrown = std::string(e.what()).rfind("A:", 0) == 0;
  }
  CHECK(thrown);
  std::vector<double> S = {0, 1, 1, 0};
  thrown = false;
  try {
    multilayer_modularity_matrix(S.data(), 1, 2, 1.0, 1.0, -1.0, &twomu);
  } catch (const spikecore::value_error& e) {
    thrown = std::string(e.what()).rfind("omega:", 0) == 0;
  }
  CHECK(thrown);
}

int main() { return sc_test::run_all(); }
