// Bindings for the analysis subsystem (translation only).
//   spikecore._core.analysis.multilayer_louvain / multilayer_score / louvain_dense:
//   signed multilayer modularity and generalized Louvain
//   (cpp/include/spikecore/analysis/louvain.hpp)
#include <nanobind/stl/tuple.h>

#include "bindings.hpp"
#include "spikecore/analysis/louvain.hpp"
#include "spikecore/core/errors.hpp"

using spikecore_bind::to_numpy;

namespace {

struct Built {
  spikecore::analysis::SparseSym B;
  double twomu = 0.0;
};

Built build(nb::ndarray<const double, nb::ndim<3>, nb::c_contig, nb::device::cpu> A,
            double gamma_pos, double gamma_neg, double omega) {
  spikecore::require(A.shape(1) == A.shape(2), "A", "each layer must be square (N x N)");
  Built b;
  {
    nb::gil_scoped_release release;
    b.B = spikecore::analysis::multilayer_modularity_matrix(
        A.data(), int64_t(A.shape(0)), int64_t(A.shape(1)), gamma_pos, gamma_neg, omega, &b.twomu);
  }
  return b;
}

}  // namespace

void bind_analysis(nb::module_ m) {
  m.def(
      "multilayer_louvain",
      [](nb::ndarray<const double, nb::ndim<3>, nb::c_contig, nb::device::cpu> A, double gamma_pos,
         double gamma_neg, double omega, uint64_t seed) {
        Built b = build(A, gamma_pos, gamma_neg, omega);
        spikecore::analysis::LouvainResult r;
        {
          nb::gil_scoped_release release;
          r = spikecore::analysis::louvain(b.B, seed);
        }
        return nb::make_tuple(to_numpy(std::move(r.membership)), r.sum_B, b.twomu, r.levels);
      },
      nb::arg("A"), nb::arg("gamma_pos"), nb::arg("gamma_neg"), nb::arg("omega"), nb::arg("seed"),
      "A [L,N,N] -> (membership [L*N] layer-major, sum_B, twomu, levels)");
  m.def(
      "multilayer_score",
      [](nb::ndarray<const double, nb::ndim<3>, nb::c_contig, nb::device::cpu> A, double gamma_pos,
         double gamma_neg, double omega,
         nb::ndarray<const int64_t, nb::ndim<1>, nb::c_contig, nb::device::cpu> membership) {
        Built b = build(A, gamma_pos, gamma_neg, omega);
        spikecore::require(int64_t(membership.shape(0)) == b.B.n, "membership",
                           "length must be L * N");
        const double s = spikecore::analysis::partition_score(b.B, membership.data());
        return nb::make_tuple(s, b.twomu);
      },
      nb::arg("A"), nb::arg("gamma_pos"), nb::arg("gamma_neg"), nb::arg("omega"),
      nb::arg("membership"), "-> (sum_B delta, twomu) of a given partition");
  m.def(
      "louvain_dense",
      [](nb::ndarray<const double, nb::ndim<2>, nb::c_contig, nb::device::cpu> B, uint64_t seed) {
        spikecore::require(B.shape(0) == B.shape(1), "B", "must be square");
        spikecore::analysis::LouvainResult r;
        {
          nb::gil_scoped_release release;
          r = spikecore::analysis::louvain(
              spikecore::analysis::sparse_from_dense(B.data(), int64_t(B.shape(0))), seed);
        }
        return nb::make_tuple(to_numpy(std::move(r.membership)), r.sum_B, r.levels);
      },
      nb::arg("B"), nb::arg("seed"),
      "Louvain on an explicit dense symmetric modularity matrix B -> (membership, sum_B, levels)");
}
