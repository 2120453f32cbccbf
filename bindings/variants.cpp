// Bindings for the CE-LIF and dendritic kernels (translation only; issue 5 work area).
// Arrays are caller-allocated C-contiguous CPU arrays of one dtype (float32 or float64); an
// optional array is passed empty. Sizes are checked here, never in the kernels.
#include <string>

#include "bindings.hpp"
#include "spikecore/core/errors.hpp"
#include "spikecore/train/celif_kernels.hpp"
#include "spikecore/train/dendritic_kernels.hpp"

namespace st = spikecore::train;

namespace {

using namespace spikecore_bind;
using IArr = nb::ndarray<const int64_t, nb::c_contig, nb::device::cpu>;

template <typename T>
st::CELIFArgs<T> celif_args(const CArr<T>& I, const CArr<T>& beta, const CArr<T>& lam,
                            const CArr<T>& omlam, const CArr<T>& eps, const CArr<T>& bias,
                            double rho, double one_m_rho, double beta_a, double gamma, double v_th,
                            bool detach, int kind, double alpha, bool smooth, int64_t cols,
                            int n_threads) {
  if (I.ndim() != 2) throw spikecore::value_error("current: expected [T, N]");
  st::CELIFArgs<T> a;
  a.steps = I.shape(0);
  a.n = I.shape(1);
  const int64_t n = a.n;
  if (cols < 0 || (cols > 0 && n % cols != 0))
    throw spikecore::value_error("cols: must divide the number of neurons");
  a.cols = cols == 0 ? n : cols;
  a.bias = opt(bias, size_t(a.cols), "bias");
  if (beta.size() != 1) need(beta, size_t(n), "beta");
  if (lam.size() != 1) need(lam, size_t(n), "lambda_c");
  need(omlam, lam.size(), "one_m_lambda");
  a.beta = beta.data();
  a.beta_stride = beta.size() == 1 ? 0 : 1;
  a.lam = lam.data();
  a.one_m_lam = omlam.data();
  a.lam_stride = lam.size() == 1 ? 0 : 1;
  if (a.lam_stride != a.beta_stride)
    throw spikecore::value_error(
        "lambda_c: beta and lambda_c must both be per-neuron or both "
        "scalars");
  a.rho = T(rho);
  a.one_m_rho = T(one_m_rho);
  a.beta_a = T(beta_a);
  a.gamma = T(gamma);
  a.v_th = T(v_th);
  a.detach_reset = detach;
  a.kind = st::surrogate_kind(kind);
  a.alpha = T(alpha);
  a.smooth = smooth;
  a.eps = opt(eps, size_t(a.steps * n), "eps");
  a.n_threads = n_threads;
  return a;
}

// Shapes of a dendritic layer call: x [R, in], weight [out, K, m], index [out, K, m] into [0, in).
template <typename T>
st::DendriticArgs dendritic_args(const CArr<T>& x, const CArr<T>& w, const IArr& index, int g,
                                 int n_threads) {
  if (x.ndim() != 2) throw spikecore::value_error("x: expected [R, in_features]");
  if (w.ndim() != 3) throw spikecore::value_error("weight: expected [out, K, m]");
  st::DendriticArgs a;
  a.rows = x.shape(0);
  a.in = x.shape(1);
  a.out = w.shape(0);
  a.k = w.shape(1);
  a.m = w.shape(2);
  a.g = st::branch_fn(g);
  a.n_threads = n_threads;
  need(index, w.size(), "index");
  st::check_index(index.data(), w.size(), a.in);
  return a;
}

template <typename T>
void bind_dtype(nb::module_ m) {
  // I, q [T, N]; bias [cols] or empty (cols: neurons per batch row; 0: N).
  m.def(
      "celif_forward",
      [](CArr<T> I, CArr<T> q, CArr<T> v0, CArr<T> a0, CArr<T> c0, CArr<T> beta, CArr<T> lam,
         CArr<T> omlam, CArr<T> eps, CArr<T> bias, Arr<T> z, Arr<T> vT, Arr<T> aT, Arr<T> cT,
         double rho, double one_m_rho, double beta_a, double gamma, double v_th, int kind,
         double alpha, bool smooth, int64_t cols, int n_threads) {
        auto a = celif_args<T>(I, beta, lam, omlam, eps, bias, rho, one_m_rho, beta_a, gamma, v_th,
                               false, kind, alpha, smooth, cols, n_threads);
        const int64_t n = a.n;
        need(q, I.size(), "context");
        for (auto* p : {&v0, &a0, &c0}) need(*p, size_t(n), "state");
        need(z, size_t(a.steps * n), "z");
        for (auto* p : {&vT, &aT, &cT}) need(*p, size_t(n), "final state");
        nb::gil_scoped_release r;
        st::celif_forward<T>(a, I.data(), q.data(), v0.data(), a0.data(), c0.data(), z.data(),
                             vT.data(), aT.data(), cT.data());
      },
      nb::arg("I"), nb::arg("q"), nb::arg("v0"), nb::arg("a0"), nb::arg("c0"), nb::arg("beta"),
      nb::arg("lambda_c"), nb::arg("one_m_lambda"), nb::arg("eps"), nb::arg("bias"), nb::arg("z"),
      nb::arg("vT"), nb::arg("aT"), nb::arg("cT"), nb::kw_only(), nb::arg("rho"),
      nb::arg("one_m_rho"), nb::arg("beta_a"), nb::arg("gamma"), nb::arg("v_th"),
      nb::arg("surrogate"), nb::arg("alpha"), nb::arg("smooth"), nb::arg("cols"),
      nb::arg("n_threads"));
  m.def(
      "celif_backward",
      [](CArr<T> I, CArr<T> q, CArr<T> v0, CArr<T> a0, CArr<T> c0, CArr<T> gz, CArr<T> gvT,
         CArr<T> gaT, CArr<T> gcT, CArr<T> beta, CArr<T> lam, CArr<T> omlam, CArr<T> eps,
         CArr<T> bias, Arr<T> gI, Arr<T> gq, Arr<T> gv0, Arr<T> ga0, Arr<T> gc0, Arr<T> gbeta,
         Arr<T> glam, Arr<T> gomlam, Arr<T> gbias, double rho, double one_m_rho, double beta_a,
         double gamma, double v_th, bool detach, int kind, double alpha, bool smooth, bool shared,
         int64_t cols, int n_threads) {
        auto a = celif_args<T>(I, beta, lam, omlam, eps, bias, rho, one_m_rho, beta_a, gamma, v_th,
                               detach, kind, alpha, smooth, cols, n_threads);
        const int64_t n = a.n;
        a.shared = shared;
        need(q, I.size(), "context");
        need(v0, size_t(n), "v0");
        need(a0, size_t(n), "a0");
        need(c0, size_t(n), "c0");
        need(gz, size_t(a.steps * n), "gz");
        const T* gv = opt(gvT, size_t(n), "gvT");
        const T* ga = opt(gaT, size_t(n), "gaT");
        const T* gc = opt(gcT, size_t(n), "gcT");
        need(gI, I.size(), "gradient");
        T* gqp = nullptr;
        if (!shared) {
          need(gq, I.size(), "gradient");
          gqp = gq.data();
        }
        for (auto* p : {&gv0, &ga0, &gc0}) need(*p, size_t(n), "gradient");
        // parameter gradients: all three, lambda only (gbeta empty) or none (all empty)
        T* gbp_ = gbeta.size() ? gbeta.data() : nullptr;
        T* glp = glam.size() ? glam.data() : nullptr;
        T* golp = gomlam.size() ? gomlam.data() : nullptr;
        if ((glp == nullptr) != (golp == nullptr) || (gbp_ != nullptr && glp == nullptr))
          throw spikecore::value_error(
              "glam: pass gbeta, glam and gomlam, or glam and gomlam, or none of them");
        for (auto* p : {&gbeta, &glam, &gomlam})
          if (p->size()) need(*p, size_t(n), "gradient");
        T* gbp = nullptr;
        if (a.bias != nullptr) {
          need(gbias, size_t(n), "gbias");
          gbp = gbias.data();
        }
        nb::gil_scoped_release r;
        st::celif_backward<T>(a, I.data(), q.data(), v0.data(), a0.data(), c0.data(), gz.data(), gv,
                              ga, gc, gI.data(), gqp, gv0.data(), ga0.data(), gc0.data(), gbp_, glp,
                              golp, gbp);
      },
      nb::arg("I"), nb::arg("q"), nb::arg("v0"), nb::arg("a0"), nb::arg("c0"), nb::arg("gz"),
      nb::arg("gvT"), nb::arg("gaT"), nb::arg("gcT"), nb::arg("beta"), nb::arg("lambda_c"),
      nb::arg("one_m_lambda"), nb::arg("eps"), nb::arg("bias"), nb::arg("gI"), nb::arg("gq"),
      nb::arg("gv0"), nb::arg("ga0"), nb::arg("gc0"), nb::arg("gbeta"), nb::arg("glambda_c"),
      nb::arg("gone_m_lambda"), nb::arg("gbias"), nb::kw_only(), nb::arg("rho"),
      nb::arg("one_m_rho"), nb::arg("beta_a"), nb::arg("gamma"), nb::arg("v_th"),
      nb::arg("detach_reset"), nb::arg("surrogate"), nb::arg("alpha"), nb::arg("smooth"),
      nb::arg("shared"), nb::arg("cols"), nb::arg("n_threads"));
  m.def(
      "dendritic_forward",
      [](CArr<T> x, CArr<T> w, CArr<T> b, IArr index, Arr<T> u, Arr<T> y, int g, int n_threads) {
        const st::DendriticArgs a = dendritic_args(x, w, index, g, n_threads);
        const T* bp = opt(b, size_t(a.out * a.k), "bias");
        need(u, size_t(a.rows * a.out * a.k), "u");
        need(y, size_t(a.rows * a.out), "y");
        nb::gil_scoped_release r;
        st::dendritic_forward<T>(a, x.data(), w.data(), bp, index.data(), u.data(), y.data());
      },
      nb::arg("x"), nb::arg("w"), nb::arg("b"), nb::arg("index"), nb::arg("u"), nb::arg("y"),
      nb::kw_only(), nb::arg("branch_fn"), nb::arg("n_threads"));
  m.def(
      "dendritic_backward",
      [](CArr<T> x, CArr<T> w, IArr index, CArr<T> u, CArr<T> gy, Arr<T> gx, Arr<T> gw, Arr<T> gb,
         int g, int n_threads) {
        const st::DendriticArgs a = dendritic_args(x, w, index, g, n_threads);
        need(u, size_t(a.rows * a.out * a.k), "u");
        need(gy, size_t(a.rows * a.out), "gy");
        T* gxp = gx.size() ? gx.data() : nullptr;
        if (gxp) need(gx, x.size(), "gx");
        need(gw, w.size(), "gw");
        T* gbp = gb.size() ? gb.data() : nullptr;
        if (gbp) need(gb, size_t(a.out * a.k), "gb");
        nb::gil_scoped_release r;
        st::dendritic_backward<T>(a, x.data(), w.data(), index.data(), u.data(), gy.data(), gxp,
                                  gw.data(), gbp);
      },
      nb::arg("x"), nb::arg("w"), nb::arg("index"), nb::arg("u"), nb::arg("gy"), nb::arg("gx"),
      nb::arg("gw"), nb::arg("gb"), nb::kw_only(), nb::arg("branch_fn"), nb::arg("n_threads"));
}

}  // namespace

void bind_variants(nb::module_ m) {
  bind_dtype<float>(m);
  bind_dtype<double>(m);
}
