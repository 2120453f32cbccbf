// Bindings for the training kernels (translation only). Owned by the train work area.
// All arrays are caller-allocated, C-contiguous CPU arrays of one dtype (float32 or float64);
// an optional array is passed as an empty array. Sizes are checked here, never in the kernels.
#include <string>

#include <nanobind/stl/string.h>

#include "bindings.hpp"
#include "spikecore/core/errors.hpp"
#include "spikecore/core/buffer_pool.hpp"
#include "spikecore/train/kernels.hpp"
#include "spikecore/train/recurrent_kernels.hpp"

namespace st = spikecore::train;

namespace {

using namespace spikecore_bind;

// An optional array's data, or null when it is empty.
template <typename A>
auto vptr(const A& a) -> decltype(a.data()) {
  return a.size() ? a.data() : nullptr;
}

template <typename V>
void check_csr(const CArr<int64_t>& row_ptr, const CArr<int32_t>& idx, const V& val, int64_t k) {
  const int64_t rows = int64_t(row_ptr.size()) - 1;
  need(idx, size_t(row_ptr.data()[rows]), "idx");
  if (val.size() != 0) need(val, idx.size(), "val");
  for (size_t p = 0; p < idx.size(); ++p)
    if (idx.data()[p] < 0 || idx.data()[p] >= k)
      throw spikecore::index_error("idx: entry out of range [0, K)");
}

template <typename V>
void check_syn(const CArr<int64_t>& syn_ptr, const CArr<int32_t>& post, const V& w, int64_t k,
               int64_t m) {
  need(syn_ptr, size_t(k + 1), "syn_ptr");
  need(post, size_t(syn_ptr.data()[k]), "post");
  need(w, post.size(), "weight");
  for (int64_t i = 0; i < k; ++i)
    if (syn_ptr.data()[i + 1] < syn_ptr.data()[i])
      throw spikecore::value_error("syn_ptr: must be non-decreasing");
  for (size_t q = 0; q < post.size(); ++q)
    if (post.data()[q] < 0 || post.data()[q] >= m)
      throw spikecore::index_error("post: entry out of range [0, M)");
}

template <typename T>
st::NeuronArgs<T> make_args(int64_t steps, int64_t n, const CArr<T>& beta, const CArr<T>& drive,
                            double v_th, double v_reset, bool soft, bool detach, int kind,
                            double alpha, bool smooth, int n_threads) {
  st::NeuronArgs<T> a;
  a.steps = steps;
  a.n = n;
  need(beta, size_t(n), "beta");
  need(drive, size_t(n), "drive");
  a.beta = beta.data();
  a.drive = drive.data();
  a.v_th = T(v_th);
  a.v_reset = T(v_reset);
  a.soft = soft;
  a.detach_reset = detach;
  a.kind = st::surrogate_kind(kind);
  a.alpha = T(alpha);
  a.smooth = smooth;
  a.n_threads = n_threads;
  return a;
}

// make_args for a [T, N] trace argument `x` named `name` (the first array of every neuron
// kernel): checks it is 2-D and takes steps and n from its shape.
template <typename T>
st::NeuronArgs<T> trace_args(const CArr<T>& x, const char* name, const CArr<T>& beta,
                             const CArr<T>& drive, double v_th, double v_reset, bool soft,
                             bool detach, int kind, double alpha, bool smooth, int n_threads) {
  if (x.ndim() != 2) throw spikecore::value_error(std::string(name) + ": expected [T, N]");
  return make_args<T>(x.shape(0), x.shape(1), beta, drive, v_th, v_reset, soft, detach, kind, alpha,
                      smooth, n_threads);
}

// The per-neuron gradient outputs of a backward kernel: gv0, gbeta, gdrive, n each.
template <typename T>
void need_neuron_grads(int64_t n, const Arr<T>& gv0, const Arr<T>& gbeta, const Arr<T>& gdrive) {
  need(gv0, size_t(n), "gv0");
  need(gbeta, size_t(n), "gbeta");
  need(gdrive, size_t(n), "gdrive");
}

template <typename T>
void bind_dtype(nb::module_ m) {
  m.def(
      "lif_forward",
      [](CArr<T> x, CArr<T> v0, CArr<T> beta, CArr<T> drive, CArr<T> eps, Arr<T> z, Arr<T> h,
         Arr<T> vT, Arr<uint8_t> bits, double v_th, double v_reset, bool soft, int kind,
         double alpha, bool smooth, int n_threads) {
        auto a = trace_args<T>(x, "x", beta, drive, v_th, v_reset, soft, false, kind, alpha, smooth,
                               n_threads);
        const int64_t steps = a.steps, n = a.n;
        a.eps = opt(eps, x.size(), "eps");
        if (bits.size() != 0) {
          if (smooth) throw spikecore::value_error("bits: not available in smooth mode");
          need(bits, size_t(steps * ((n + 7) / 8)), "bits");
          a.bits = bits.data();
        }
        need(v0, n, "v0");
        need(z, x.size(), "z");
        T* hp = h.size() == 0 ? nullptr : h.data();
        if (hp) need(h, x.size(), "h");
        need(vT, n, "vT");
        nb::gil_scoped_release r;
        st::lif_forward<T>(a, x.data(), v0.data(), z.data(), hp, vT.data());
      },
      nb::arg("x"), nb::arg("v0"), nb::arg("beta"), nb::arg("drive"), nb::arg("eps"), nb::arg("z"),
      nb::arg("h"), nb::arg("vT"), nb::arg("bits"), nb::kw_only(), nb::arg("v_th"),
      nb::arg("v_reset"), nb::arg("soft_reset"), nb::arg("surrogate"), nb::arg("alpha"),
      nb::arg("smooth"), nb::arg("n_threads"));
  m.def(
      "lif_backward",
      [](CArr<T> h, CArr<T> v0, CArr<T> gz, CArr<T> gvT, CArr<T> beta, CArr<T> drive, CArr<T> eps,
         CArr<uint8_t> bits, Arr<T> gx, Arr<T> gv0, Arr<T> gbeta, Arr<T> gdrive, double v_th,
         double v_reset, bool soft, bool detach, int kind, double alpha, bool smooth,
         int n_threads) {
        auto a = trace_args<T>(h, "h", beta, drive, v_th, v_reset, soft, detach, kind, alpha,
                               smooth, n_threads);
        const int64_t steps = a.steps, n = a.n;
        a.eps = opt(eps, h.size(), "eps");
        if (bits.size() != 0) {
          if (smooth || a.eps) throw spikecore::value_error("bits: not with smooth mode or eps");
          need(bits, size_t(steps * ((n + 7) / 8)), "bits");
          a.bits = const_cast<uint8_t*>(bits.data());  // read only in backward
        }
        need(v0, n, "v0");
        need(gz, h.size(), "gz");
        const T* gvt = opt(gvT, n, "gvT");
        need(gx, h.size(), "gx");
        need_neuron_grads<T>(n, gv0, gbeta, gdrive);
        nb::gil_scoped_release r;
        st::lif_backward<T>(a, h.data(), v0.data(), gz.data(), gvt, gx.data(), gv0.data(),
                            gbeta.data(), gdrive.data());
      },
      nb::arg("h"), nb::arg("v0"), nb::arg("gz"), nb::arg("gvT"), nb::arg("beta"), nb::arg("drive"),
      nb::arg("eps"), nb::arg("bits"), nb::arg("gx"), nb::arg("gv0"), nb::arg("gbeta"),
      nb::arg("gdrive"), nb::kw_only(), nb::arg("v_th"), nb::arg("v_reset"), nb::arg("soft_reset"),
      nb::arg("detach_reset"), nb::arg("surrogate"), nb::arg("alpha"), nb::arg("smooth"),
      nb::arg("n_threads"));
  m.def(
      "alif_forward",
      [](CArr<T> x, CArr<T> v0, CArr<T> a0, CArr<T> beta, CArr<T> drive, Arr<T> z, Arr<T> h,
         Arr<T> ap, Arr<T> vT, Arr<T> aT, double v_th, double v_reset, bool soft, double rho,
         double beta_a, int kind, double alpha, bool smooth, int n_threads) {
        auto a = trace_args<T>(x, "x", beta, drive, v_th, v_reset, soft, false, kind, alpha, smooth,
                               n_threads);
        const int64_t n = a.n;
        a.rho = T(rho);
        a.beta_a = T(beta_a);
        need(v0, n, "v0");
        need(a0, n, "a0");
        need(z, x.size(), "z");
        need(h, x.size(), "h");
        need(ap, x.size(), "aprev");
        need(vT, n, "vT");
        need(aT, n, "aT");
        nb::gil_scoped_release r;
        st::alif_forward<T>(a, x.data(), v0.data(), a0.data(), z.data(), h.data(), ap.data(),
                            vT.data(), aT.data());
      },
      nb::arg("x"), nb::arg("v0"), nb::arg("a0"), nb::arg("beta"), nb::arg("drive"), nb::arg("z"),
      nb::arg("h"), nb::arg("a_prev"), nb::arg("vT"), nb::arg("aT"), nb::kw_only(), nb::arg("v_th"),
      nb::arg("v_reset"), nb::arg("soft_reset"), nb::arg("rho"), nb::arg("beta_a"),
      nb::arg("surrogate"), nb::arg("alpha"), nb::arg("smooth"), nb::arg("n_threads"));
  m.def(
      "alif_backward",
      [](CArr<T> h, CArr<T> ap, CArr<T> v0, CArr<T> gz, CArr<T> gvT, CArr<T> gaT, CArr<T> beta,
         CArr<T> drive, Arr<T> gx, Arr<T> gv0, Arr<T> ga0, Arr<T> gbeta, Arr<T> gdrive, double v_th,
         double v_reset, bool soft, bool detach, double rho, double beta_a, int kind, double alpha,
         bool smooth, int n_threads) {
        auto a = trace_args<T>(h, "h", beta, drive, v_th, v_reset, soft, detach, kind, alpha,
                               smooth, n_threads);
        const int64_t n = a.n;
        a.rho = T(rho);
        a.beta_a = T(beta_a);
        need(ap, h.size(), "aprev");
        need(v0, n, "v0");
        need(gz, h.size(), "gz");
        const T* gvt = opt(gvT, n, "gvT");
        const T* gat = opt(gaT, n, "gaT");
        need(gx, h.size(), "gx");
        need(ga0, n, "ga0");
        need_neuron_grads<T>(n, gv0, gbeta, gdrive);
        nb::gil_scoped_release r;
        st::alif_backward<T>(a, h.data(), ap.data(), v0.data(), gz.data(), gvt, gat, gx.data(),
                             gv0.data(), ga0.data(), gbeta.data(), gdrive.data());
      },
      nb::arg("h"), nb::arg("a_prev"), nb::arg("v0"), nb::arg("gz"), nb::arg("gvT"), nb::arg("gaT"),
      nb::arg("beta"), nb::arg("drive"), nb::arg("gx"), nb::arg("gv0"), nb::arg("ga0"),
      nb::arg("gbeta"), nb::arg("gdrive"), nb::kw_only(), nb::arg("v_th"), nb::arg("v_reset"),
      nb::arg("soft_reset"), nb::arg("detach_reset"), nb::arg("rho"), nb::arg("beta_a"),
      nb::arg("surrogate"), nb::arg("alpha"), nb::arg("smooth"), nb::arg("n_threads"));
  m.def(
      "li_forward",
      [](CArr<T> x, CArr<T> v0, CArr<T> beta, CArr<T> drive, Arr<T> out, int n_threads) {
        auto a =
            trace_args<T>(x, "x", beta, drive, 1.0, 0.0, false, false, 0, 1.0, false, n_threads);
        const int64_t n = a.n;
        need(v0, n, "v0");
        need(out, x.size(), "out");
        nb::gil_scoped_release r;
        st::li_forward<T>(a, x.data(), v0.data(), out.data());
      },
      nb::arg("x"), nb::arg("v0"), nb::arg("beta"), nb::arg("drive"), nb::arg("out"), nb::kw_only(),
      nb::arg("n_threads"));
  m.def(
      "li_backward",
      [](CArr<T> out, CArr<T> v0, CArr<T> gout, CArr<T> gvT, CArr<T> beta, CArr<T> drive, Arr<T> gx,
         Arr<T> gv0, Arr<T> gbeta, Arr<T> gdrive, int n_threads) {
        auto a = trace_args<T>(out, "out", beta, drive, 1.0, 0.0, false, false, 0, 1.0, false,
                               n_threads);
        const int64_t n = a.n;
        need(v0, n, "v0");
        need(gout, out.size(), "gout");
        const T* gvt = opt(gvT, n, "gvT");
        need(gx, out.size(), "gx");
        need_neuron_grads<T>(n, gv0, gbeta, gdrive);
        nb::gil_scoped_release r;
        st::li_backward<T>(a, out.data(), v0.data(), gout.data(), gvt, gx.data(), gv0.data(),
                           gbeta.data(), gdrive.data());
      },
      nb::arg("out"), nb::arg("v0"), nb::arg("gout"), nb::arg("gvT"), nb::arg("beta"),
      nb::arg("drive"), nb::arg("gx"), nb::arg("gv0"), nb::arg("gbeta"), nb::arg("gdrive"),
      nb::kw_only(), nb::arg("n_threads"));
  m.def(
      "gather_active",
      [](CArr<T> x, int64_t max_nnz, int n_threads) -> nb::object {
        if (x.ndim() != 2) throw spikecore::value_error("x: expected [R, K]");
        const int64_t rows = x.shape(0), k = x.shape(1);
        std::vector<int64_t> row_ptr(size_t(rows) + 1);
        std::vector<int32_t> idx;
        std::vector<T> val;
        {
          nb::gil_scoped_release r;
          // the counting pass keeps the nonzero bits, so the fill pass does not read x again
          thread_local std::vector<uint64_t> masks;
          masks.resize(size_t(rows * ((k + 63) / 64)));
          bool ones = false;
          const int64_t nnz = st::gather_active<T>(x.data(), rows, k, row_ptr.data(), nullptr,
                                                   nullptr, n_threads, false, masks.data(), &ones);
          if (max_nnz >= 0 && nnz > max_nnz) return nb::none();
          idx.resize(size_t(nnz));
          if (!ones) val.resize(size_t(nnz));  // spikes (all values 1): indices suffice
          st::gather_active<T>(x.data(), rows, k, row_ptr.data(), idx.data(),
                               ones ? nullptr : val.data(), n_threads, /*counted=*/true,
                               masks.data());
        }
        return nb::make_tuple(spikecore_bind::to_numpy(std::move(row_ptr)),
                              spikecore_bind::to_numpy(std::move(idx)),
                              spikecore_bind::to_numpy(std::move(val)));
      },
      nb::arg("x"), nb::arg("max_nnz") = -1, nb::arg("n_threads") = 1,
      "CSR (row_ptr, idx, val) of the nonzero entries of x [R, K], or None if there are more "
      "than max_nnz (>= 0) of them");
  m.def(
      "sparse_rows_matmul",
      [](CArr<int64_t> row_ptr, CArr<int32_t> idx, CArr<T> val, CArr<T> wt, CArr<T> bias, Arr<T> y,
         int n_threads) {
        if (wt.ndim() != 2) throw spikecore::value_error("wt: expected [K, M]");
        const int64_t rows = int64_t(row_ptr.size()) - 1, k = wt.shape(0), m = wt.shape(1);
        if (rows < 0) throw spikecore::value_error("row_ptr: empty");
        check_csr(row_ptr, idx, val, k);
        const T* b = opt(bias, m, "bias");
        need(y, size_t(rows * m), "y");
        nb::gil_scoped_release r;
        st::sparse_rows_matmul<T>(row_ptr.data(), idx.data(), vptr(val), rows, wt.data(), m, b,
                                  y.data(), n_threads);
      },
      nb::arg("row_ptr"), nb::arg("idx"), nb::arg("val"), nb::arg("wt"), nb::arg("bias"),
      nb::arg("y"), nb::kw_only(), nb::arg("n_threads"));
  m.def(
      "sparse_rows_weight_grad",
      [](CArr<int64_t> row_ptr, CArr<int32_t> idx, CArr<T> val, CArr<T> gy, Arr<T> gwt,
         int n_threads, Arr<T> gb, bool gw_rows) {
        if (gy.ndim() != 2 || gwt.ndim() != 2)
          throw spikecore::value_error("gy, gwt: expected 2-D arrays");
        const int64_t rows = int64_t(row_ptr.size()) - 1;
        const int64_t k = gw_rows ? gwt.shape(1) : gwt.shape(0);
        const int64_t m = gw_rows ? gwt.shape(0) : gwt.shape(1);
        if (rows < 0 || int64_t(gy.shape(0)) != rows || int64_t(gy.shape(1)) != m)
          throw spikecore::value_error("gy: shape must be [rows, M]");
        check_csr(row_ptr, idx, val, k);
        T* gbp = gb.size() ? gb.data() : nullptr;
        if (gbp) need(gb, size_t(m), "gb");
        nb::gil_scoped_release r;
        st::sparse_rows_weight_grad<T>(row_ptr.data(), idx.data(), vptr(val), rows, gy.data(), k, m,
                                       gwt.data(), n_threads, gbp, gw_rows);
      },
      nb::arg("row_ptr"), nb::arg("idx"), nb::arg("val"), nb::arg("gy"), nb::arg("gwt"),
      nb::kw_only(), nb::arg("n_threads"), nb::arg("gb"), nb::arg("gw_rows"),
      "The weight gradient of the event-driven product: gwt [K, M] (or, with gw_rows, gw [M, K]) "
      "and, when gb is not empty (pass an empty array for none), the bias gradient gb [M] = "
      "sum of gy's rows");
  m.def(
      "sparse_syn_forward",
      [](CArr<int64_t> row_ptr, CArr<int32_t> idx, CArr<T> val, CArr<int64_t> syn_ptr,
         CArr<int32_t> post, CArr<T> w, CArr<T> bias, Arr<T> y, int64_t k, int64_t m,
         int n_threads) {
        const int64_t rows = int64_t(row_ptr.size()) - 1;
        if (rows < 0) throw spikecore::value_error("row_ptr: empty");
        check_csr(row_ptr, idx, val, k);
        check_syn(syn_ptr, post, w, k, m);
        const T* b = opt(bias, m, "bias");
        need(y, size_t(rows * m), "y");
        nb::gil_scoped_release r;
        st::sparse_syn_forward<T>(row_ptr.data(), idx.data(), vptr(val), rows, syn_ptr.data(),
                                  post.data(), w.data(), m, b, y.data(), n_threads);
      },
      nb::arg("row_ptr"), nb::arg("idx"), nb::arg("val"), nb::arg("syn_ptr"), nb::arg("post"),
      nb::arg("w"), nb::arg("bias"), nb::arg("y"), nb::arg("k"), nb::arg("m"), nb::kw_only(),
      nb::arg("n_threads"));
  m.def(
      "sparse_syn_weight_grad",
      [](CArr<int64_t> row_ptr, CArr<int32_t> idx, CArr<T> val, CArr<int64_t> syn_ptr,
         CArr<int32_t> post, CArr<T> gy, Arr<T> gw, int64_t k, int n_threads) {
        const int64_t rows = int64_t(row_ptr.size()) - 1;
        if (rows < 0 || gy.ndim() != 2 || int64_t(gy.shape(0)) != rows)
          throw spikecore::value_error("gy: shape must be [rows, M]");
        const int64_t m = gy.shape(1);
        check_csr(row_ptr, idx, val, k);
        check_syn(syn_ptr, post, gw, k, m);
        nb::gil_scoped_release r;
        st::sparse_syn_weight_grad<T>(row_ptr.data(), idx.data(), vptr(val), rows, syn_ptr.data(),
                                      post.data(), k, gy.data(), m, gw.data(), n_threads);
      },
      nb::arg("row_ptr"), nb::arg("idx"), nb::arg("val"), nb::arg("syn_ptr"), nb::arg("post"),
      nb::arg("gy"), nb::arg("gw"), nb::arg("k"), nb::kw_only(), nb::arg("n_threads"));
  m.def(
      "sparse_syn_input_grad",
      [](CArr<int64_t> syn_ptr, CArr<int32_t> post, CArr<T> w, CArr<T> gy, Arr<T> gx, int64_t k,
         int n_threads) {
        if (gy.ndim() != 2) throw spikecore::value_error("gy: expected [rows, M]");
        const int64_t rows = gy.shape(0), m = gy.shape(1);
        check_syn(syn_ptr, post, w, k, m);
        need(gx, size_t(rows * k), "gx");
        nb::gil_scoped_release r;
        st::sparse_syn_input_grad<T>(syn_ptr.data(), post.data(), w.data(), k, gy.data(), rows, m,
                                     gx.data(), n_threads);
      },
      nb::arg("syn_ptr"), nb::arg("post"), nb::arg("w"), nb::arg("gy"), nb::arg("gx"), nb::arg("k"),
      nb::kw_only(), nb::arg("n_threads"));
}

// Recurrent layer (spikecore.nn.Recurrent): I [T, B, n], wt = W_rec^T [n, n], state [B, n],
// per-neuron beta / drive [n]; a0 / aprev / aT / ga0 only with adaptive, empty otherwise.
template <typename T>
st::RecurrentArgs<T> make_rec_args(const CArr<T>& I, const CArr<T>& wt, const CArr<T>& beta,
                                   const CArr<T>& drive, const CArr<T>& eps, double v_th,
                                   double v_reset, bool soft, bool detach, bool adaptive,
                                   double rho, double beta_a, int kind, double alpha, bool smooth,
                                   int n_threads) {
  if (I.ndim() != 3) throw spikecore::value_error("I: expected [T, B, n]");
  const int64_t steps = I.shape(0), batch = I.shape(1), n = I.shape(2);
  if (wt.ndim() != 2 || int64_t(wt.shape(0)) != n || int64_t(wt.shape(1)) != n)
    throw spikecore::value_error("wt: expected [n, n] with n = I.shape[2]");
  st::RecurrentArgs<T> ra;
  ra.neuron = make_args<T>(steps, n, beta, drive, v_th, v_reset, soft, detach, kind, alpha, smooth,
                           n_threads);
  ra.neuron.rho = T(rho);
  ra.neuron.beta_a = T(beta_a);
  ra.neuron.eps = opt(eps, I.size(), "eps");
  if (ra.neuron.eps && adaptive)
    throw spikecore::value_error("eps: threshold noise is for the LIF neuron only");
  ra.batch = batch;
  ra.adaptive = adaptive;
  return ra;
}

template <typename T>
void bind_recurrent(nb::module_ m) {
  m.def(
      "recurrent_forward",
      [](CArr<T> I, CArr<T> wt, CArr<T> v0, CArr<T> a0, CArr<T> z0, CArr<T> beta, CArr<T> drive,
         CArr<T> eps, Arr<T> z, Arr<T> h, Arr<T> ap, Arr<T> vT, Arr<T> aT, double v_th,
         double v_reset, bool soft, bool adaptive, double rho, double beta_a, int kind,
         double alpha, bool smooth, int n_threads) {
        auto ra = make_rec_args<T>(I, wt, beta, drive, eps, v_th, v_reset, soft, false, adaptive,
                                   rho, beta_a, kind, alpha, smooth, n_threads);
        const size_t N = size_t(ra.batch * ra.neuron.n);
        need(v0, N, "v0");
        need(z0, N, "z0");
        need(z, I.size(), "z");
        need(vT, N, "vT");
        T* hp = h.size() == 0 ? nullptr : h.data();
        if (hp) need(h, I.size(), "h");
        const T* a0p = nullptr;
        T *app = nullptr, *aTp = nullptr;
        if (adaptive) {
          need(a0, N, "a0");
          need(aT, N, "aT");
          a0p = a0.data();
          aTp = aT.data();
          if (ap.size() != 0) {
            need(ap, I.size(), "a_prev");
            app = ap.data();
          }
        }
        nb::gil_scoped_release r;
        st::recurrent_forward<T>(ra, I.data(), wt.data(), v0.data(), a0p, z0.data(), z.data(), hp,
                                 app, vT.data(), aTp);
      },
      nb::arg("I"), nb::arg("wt"), nb::arg("v0"), nb::arg("a0"), nb::arg("z0"), nb::arg("beta"),
      nb::arg("drive"), nb::arg("eps"), nb::arg("z"), nb::arg("h"), nb::arg("a_prev"),
      nb::arg("vT"), nb::arg("aT"), nb::kw_only(), nb::arg("v_th"), nb::arg("v_reset"),
      nb::arg("soft_reset"), nb::arg("adaptive"), nb::arg("rho"), nb::arg("beta_a"),
      nb::arg("surrogate"), nb::arg("alpha"), nb::arg("smooth"), nb::arg("n_threads"));
  m.def(
      "recurrent_backward",
      [](CArr<T> h, CArr<T> ap, CArr<T> z, CArr<T> v0, CArr<T> z0, CArr<T> wt, CArr<T> gz,
         CArr<T> gvT, CArr<T> gaT, CArr<T> beta, CArr<T> drive, CArr<T> eps, Arr<T> gI, Arr<T> gwt,
         Arr<T> gv0, Arr<T> ga0, Arr<T> gz0, Arr<T> gbeta, Arr<T> gdrive, double v_th,
         double v_reset, bool soft, bool detach, bool adaptive, double rho, double beta_a, int kind,
         double alpha, bool smooth, int n_threads) {
        auto ra = make_rec_args<T>(h, wt, beta, drive, eps, v_th, v_reset, soft, detach, adaptive,
                                   rho, beta_a, kind, alpha, smooth, n_threads);
        const size_t N = size_t(ra.batch * ra.neuron.n), n = size_t(ra.neuron.n);
        need(z, h.size(), "z");
        need(v0, N, "v0");
        need(z0, N, "z0");
        need(gz, h.size(), "gz");
        const T* gvt = opt(gvT, N, "gvT");
        need(gI, h.size(), "gI");
        need(gwt, n * n, "gwt");
        need(gv0, N, "gv0");
        need(gz0, N, "gz0");
        need(gbeta, n, "gbeta");
        need(gdrive, n, "gdrive");
        const T *app = nullptr, *gat = nullptr;
        T* ga0p = nullptr;
        if (adaptive) {
          need(ap, h.size(), "a_prev");
          need(ga0, N, "ga0");
          app = ap.data();
          gat = opt(gaT, N, "gaT");
          ga0p = ga0.data();
        }
        nb::gil_scoped_release r;
        st::recurrent_backward<T>(ra, h.data(), app, z.data(), v0.data(), z0.data(), wt.data(),
                                  gz.data(), gvt, gat, gI.data(), gwt.data(), gv0.data(), ga0p,
                                  gz0.data(), gbeta.data(), gdrive.data());
      },
      nb::arg("h"), nb::arg("a_prev"), nb::arg("z"), nb::arg("v0"), nb::arg("z0"), nb::arg("wt"),
      nb::arg("gz"), nb::arg("gvT"), nb::arg("gaT"), nb::arg("beta"), nb::arg("drive"),
      nb::arg("eps"), nb::arg("gI"), nb::arg("gwt"), nb::arg("gv0"), nb::arg("ga0"), nb::arg("gz0"),
      nb::arg("gbeta"), nb::arg("gdrive"), nb::kw_only(), nb::arg("v_th"), nb::arg("v_reset"),
      nb::arg("soft_reset"), nb::arg("detach_reset"), nb::arg("adaptive"), nb::arg("rho"),
      nb::arg("beta_a"), nb::arg("surrogate"), nb::arg("alpha"), nb::arg("smooth"),
      nb::arg("n_threads"));
}

}  // namespace

namespace {

// A new 1-D numpy array of n elements from the buffer pool (not initialised); the capsule hands
// the block back to the pool when the array (and any torch tensor over it) is freed.
template <typename T>
nb::object pooled(int64_t n) {
  if (n < 0) throw spikecore::value_error("n: must be >= 0");
  T* data;
  return nb::cast(new_numpy_uninit<T>({size_t(n)}, &data, /*always_pooled=*/true));
}

void bind_pool(nb::module_ m) {
  m.def(
      "pool_empty",
      [](int64_t n, const std::string& dtype) -> nb::object {
        if (dtype == "float32") return pooled<float>(n);
        if (dtype == "float64") return pooled<double>(n);
        if (dtype == "int32") return pooled<int32_t>(n);
        if (dtype == "int64") return pooled<int64_t>(n);
        throw spikecore::value_error("dtype: valid choices: float32, float64, int32, int64; got '" +
                                     dtype + "'");
      },
      nb::arg("n"), nb::arg("dtype"),
      "A 1-D numpy array of n uninitialised elements from the training kernels' buffer pool");
  m.def("pool_trim", &spikecore::pool_trim, "Unmap every cached block of the buffer pool");
  m.def(
      "pool_set_limit",
      [](int64_t bytes) {
        if (bytes < 0) throw spikecore::value_error("limit: must be >= 0 bytes");
        spikecore::pool_set_limit(size_t(bytes));
      },
      nb::arg("limit"), "Most bytes the buffer pool keeps cached");
  m.def("pool_stats", [] {
    const spikecore::PoolStats s = spikecore::pool_stats();
    nb::dict d;
    d["cached_bytes"] = s.cached_bytes;
    d["live_bytes"] = s.live_bytes;
    d["limit_bytes"] = s.limit_bytes;
    d["hits"] = s.hits;
    d["misses"] = s.misses;
    return d;
  });
  m.def(
      "set_thread_backend",
      [](const std::string& b) {
        if (b == "auto")
          st::set_thread_backend(st::ThreadBackend::Auto);
        else if (b == "openmp")
          st::set_thread_backend(st::ThreadBackend::OpenMP);
        else if (b == "own")
          st::set_thread_backend(st::ThreadBackend::Own);
        else
          throw spikecore::value_error(
              "thread_backend: valid choices: 'auto', 'openmp', 'own'; got '" + b + "'");
      },
      nb::arg("backend"),
      "Where the training kernels run their threads: 'auto' (the resident OpenMP runtime, "
      "torch's, else spikecore's own team), 'openmp' or 'own'");
  m.def("thread_backend", [] {
    switch (st::thread_backend()) {
      case st::ThreadBackend::OpenMP:
        return std::string("openmp");
      case st::ThreadBackend::Own:
        return std::string("own");
      default:
        return std::string("auto");
    }
  });
  m.def("openmp_resident", &st::openmp_resident,
        "Whether an OpenMP runtime (torch's libgomp) is loaded in this process");
  m.def(
      "pool_size_class",
      [](int64_t bytes) {
        if (bytes < 0) throw spikecore::value_error("bytes: must be >= 0");
        return spikecore::pool_size_class(size_t(bytes));
      },
      nb::arg("bytes"));
}

}  // namespace

void bind_train(nb::module_ m) {
  bind_pool(m);
  // float32 first: nanobind tries overloads in order, without implicit dtype conversion
  bind_dtype<float>(m);
  bind_dtype<double>(m);
  bind_recurrent<float>(m);
  bind_recurrent<double>(m);
}
