// Bindings for the models subsystem (translation only). Owned by the models work area.
//   spikecore._core.models.hebbff_forward / hebbff_backward   fused HebbFF plastic recurrence
#include <nanobind/stl/tuple.h>

#include <cstring>

#include "bindings.hpp"
#include "spikecore/core/errors.hpp"
#include "spikecore/models/hebbff.hpp"

using spikecore_bind::new_numpy;

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
  auto ck_arr =
      new_numpy<S>({size_t(save_ckpt ? n_ck : 0), size_t(s.B), size_t(s.N), size_t(s.d)}, &ck);
  auto Af_arr = new_numpy<S>({size_t(s.B), size_t(s.N), size_t(s.d)}, &Af);
  {
    nb::gil_scoped_release release;
    spikecore::models::hebbff_forward<S>(s, x.data(), W1.data(), b1.data(), S(eta), S(lam), K, a,
                                         save_ckpt ? ck : nullptr, Af, n_threads);
  }
  return nb::make_tuple(a_arr, ck_arr, Af_arr, K);
}

template <typename S>
nb::tuple hebbff_backward(In<S> x, In<S> W1, double eta, double lam, int64_t K, In<S> a, In<S> ckpt,
                          In<S> g_a, bool need_gx, int n_threads) {
  spikecore::require(
      x.ndim() == 3 && W1.ndim() == 2 && a.ndim() == 3 && g_a.ndim() == 3 && ckpt.ndim() == 4, "x",
      "shapes must be x [T,B,d], W1 [N,d], a and g_a [T,B,N], ckpt [C,B,N,d]");
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
}
