// Bindings for the models subsystem (translation only). Owned by the models work area.
//   spikecore._core.models.hebbff_forward / hebbff_backward   fused HebbFF plastic recurrence
//   spikecore._core.models.community.*                        multilayer modularity + Louvain
#include <nanobind/stl/tuple.h>

#include <cstring>

#include "bindings.hpp"
#include "spikecore/analysis/louvain.hpp"
#include "spikecore/core/errors.hpp"
#include "spikecore/models/hebbff.hpp"

using spikecore_bind::new_numpy;
using spikecore_bind::to_numpy;

namespace {

template <typename S>
using In = nb::ndarray<const S, nb::c_contig, nb::device::cpu>;

template <typename S>
nb::tuple hebbff_forward(In<S> x, In<S> W1, In<S> b1, double eta, double lam, bool save_ckpt,
                         int n_threads) {
  spikecore::require(x.ndim() == 3, "x", "must be [T, B, d]");
  spikecore::require(W1.ndim() == 2, "W1", "must be [N, d]");
  spikecore::require(b1.ndim() == 1, "b1", "must be [N]");
  spikecore::models::HebbFFShape s{int64_t(x.shape(0)), int64_t(x.shape(1)), int64_t(W1.shape(0)),
                                   int64_t(x.shape(2))};
  spikecore::require(int64_t(W1.shape(1)) == s.d, "W1",
                     "second dimension must equal x's item dimension d");
  spikecore::require(int64_t(b1.shape(0)) == s.N, "b1", "length must equal W1's rows N");
  s.validate();
  const int64_t K = spikecore::models::hebbff_checkpoint_interval(s.T);
  const int64_t n_ck = spikecore::models::hebbff_num_checkpoints(s.T, K);
  S *a = nullptr, *ck = nullptr, *Af = nullptr;
  auto a_arr = new_numpy<S>({size_t(s.T), size_t(s.B), size_t(s.N)}, &a);
  auto ck_arr = new_numpy<S>({size_t(save_ckpt ? n_ck : 0), size_t(s.B), size_t(s.N), size_t(s.d)},
                             &ck);
  auto Af_arr = new_numpy<S>({size_t(s.B), size_t(s.N), size_t(s.d)}, &Af);
  {
    nb::gil_scoped_release release;
    spikecore::models::hebbff_forward<S>(s, x.data(), W1.data(), b1.data(), S(eta), S(lam), K, a,
                                         save_ckpt ? ck : nullptr, Af, n_threads);
  }
  return nb::make_tuple(a_arr, ck_arr, Af_arr, K);
}

template <typename S>
nb::tuple hebbff_backward(In<S> x, In<S> W1, double eta, double lam, int64_t K, In<S> a,
                          In<S> ckpt, In<S> g_a, bool need_gx, int n_threads) {
  spikecore::require(x.ndim() == 3 && W1.ndim() == 2 && a.ndim() == 3 && g_a.ndim() == 3 &&
                         ckpt.ndim() == 4,
                     "x", "shapes must be x [T,B,d], W1 [N,d], a and g_a [T,B,N], ckpt [C,B,N,d]");
  spikecore::models::HebbFFShape s{int64_t(x.shape(0)), int64_t(x.shape(1)), int64_t(W1.shape(0)),
                                   int64_t(x.shape(2))};
  s.validate();
  spikecore::require(K >= 1, "K", "checkpoint interval must be >= 1");
  for (int k = 0; k < 3; ++k) {
    const size_t want = k == 0 ? size_t(s.T) : k == 1 ? size_t(s.B) : size_t(s.N);
    spikecore::require(a.shape(k) == want, "a", "shape must be [T, B, N]");
    spikecore::require(g_a.shape(k) == want, "g_a", "shape must be [T, B, N]");
  }
  spikecore::require(int64_t(ckpt.shape(0)) == spikecore::models::hebbff_num_checkpoints(s.T, K) &&
                         ckpt.shape(1) == size_t(s.B) && ckpt.shape(2) == size_t(s.N) &&
                         ckpt.shape(3) == size_t(s.d),
                     "ckpt", "shape does not match the forward pass");
  S *gx = nullptr, *gW = nullptr, *gb = nullptr;
  auto gx_arr = new_numpy<S>({size_t(need_gx ? s.T : 0), size_t(s.B), size_t(s.d)}, &gx);
  auto gW_arr = new_numpy<S>({size_t(s.N), size_t(s.d)}, &gW);
  auto gb_arr = new_numpy<S>({size_t(s.N)}, &gb);
  double ge = 0.0, gl = 0.0;
  {
    nb::gil_scoped_release release;
    spikecore::models::hebbff_backward<S>(s, x.data(), W1.data(), S(eta), S(lam), K, a.data(),
                                          ckpt.data(), g_a.data(), need_gx ? gx : nullptr, gW, gb,
                                          &ge, &gl, n_threads);
  }
  return nb::make_tuple(gx_arr, gW_arr, gb_arr, ge, gl);
}

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

void bind_models(nb::module_ m) {
  m.def("hebbff_forward", &hebbff_forward<float>, nb::arg("x"), nb::arg("W1"), nb::arg("b1"),
        nb::arg("eta"), nb::arg("lam"), nb::arg("save_ckpt") = true, nb::arg("n_threads") = 1,
        "HebbFF plastic recurrence forward -> (a [T,B,N], ckpt, A_final [B,N,d], K)");
  m.def("hebbff_forward", &hebbff_forward<double>, nb::arg("x"), nb::arg("W1"), nb::arg("b1"),
        nb::arg("eta"), nb::arg("lam"), nb::arg("save_ckpt") = true, nb::arg("n_threads") = 1);
  m.def("hebbff_backward", &hebbff_backward<float>, nb::arg("x"), nb::arg("W1"), nb::arg("eta"),
        nb::arg("lam"), nb::arg("K"), nb::arg("a"), nb::arg("ckpt"), nb::arg("g_a"),
        nb::arg("need_gx") = true, nb::arg("n_threads") = 1,
        "HebbFF backward (BPTT through A) -> (gx, gW1, gb1, geta, glam)");
  m.def("hebbff_backward", &hebbff_backward<double>, nb::arg("x"), nb::arg("W1"), nb::arg("eta"),
        nb::arg("lam"), nb::arg("K"), nb::arg("a"), nb::arg("ckpt"), nb::arg("g_a"),
        nb::arg("need_gx") = true, nb::arg("n_threads") = 1);

  nb::module_ c = m.def_submodule("community", "signed multilayer modularity and generalized Louvain");
  c.def(
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
  c.def(
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
  c.def(
      "louvain_dense",
      [](nb::ndarray<const double, nb::ndim<2>, nb::c_contig, nb::device::cpu> B, uint64_t seed) {
        spikecore::require(B.shape(0) == B.shape(1), "B", "must be square");
        const int64_t n = int64_t(B.shape(0));
        spikecore::analysis::SparseSym S;
        S.n = n;
        S.rowptr.resize(size_t(n + 1));
        const double* p = B.data();
        for (int64_t i = 0; i < n; ++i) {
          S.rowptr[size_t(i)] = int64_t(S.col.size());
          for (int64_t j = 0; j < n; ++j) {
            const double v = p[i * n + j];
            spikecore::require_finite(v, "B");
            spikecore::require(std::fabs(v - p[j * n + i]) <= 1e-9 * std::max(1.0, std::fabs(v)),
                               "B", "must be symmetric");
            if (v != 0.0) {
              S.col.push_back(int32_t(j));
              S.val.push_back(v);
            }
          }
        }
        S.rowptr[size_t(n)] = int64_t(S.col.size());
        spikecore::analysis::LouvainResult r;
        {
          nb::gil_scoped_release release;
          r = spikecore::analysis::louvain(S, seed);
        }
        return nb::make_tuple(to_numpy(std::move(r.membership)), r.sum_B, r.levels);
      },
      nb::arg("B"), nb::arg("seed"),
      "Louvain on an explicit dense symmetric modularity matrix B -> (membership, sum_B, levels)");
}
