// Bindings for the structure-learning kernels (translation only). Owned by the learn work area.
// Arrays are caller-allocated, C-contiguous CPU arrays; x / w / y of one dtype (float32 or
// float64). Sizes and index ranges are checked here, never in the kernels.
#include <string>

#include "bindings.hpp"
#include "spikecore/core/errors.hpp"
#include "spikecore/learn/sparse_conv.hpp"
#include "spikecore/learn/synapse_linear.hpp"

namespace sl = spikecore::learn;

namespace {

using namespace spikecore_bind;

// row_ptr [n_in + 1] non-decreasing from 0; post [nnz] in [0, n_out).
void check_structure(const CArr<int64_t>& row_ptr, const CArr<int32_t>& post, int64_t n_in,
                     int64_t n_out) {
  need(row_ptr, size_t(n_in + 1), "row_ptr");
  const int64_t* rp = row_ptr.data();
  if (rp[0] != 0) throw spikecore::value_error("row_ptr: must start at 0");
  for (int64_t i = 0; i < n_in; ++i)
    if (rp[i + 1] < rp[i]) throw spikecore::value_error("row_ptr: must be non-decreasing");
  need(post, size_t(rp[n_in]), "post");
  for (size_t s = 0; s < post.size(); ++s)
    if (post.data()[s] < 0 || post.data()[s] >= n_out)
      throw spikecore::index_error("post: entry out of range [0, n_out)");
}

template <typename A>
void need_shape(const A& a, const sl::ConvGeometry& g, bool input, const char* name) {
  const int64_t want[4] = {g.n, input ? g.ci : g.co, input ? g.h : g.oh, input ? g.w : g.ow};
  bool ok = a.ndim() == 4;
  for (size_t d = 0; ok && d < 4; ++d) ok = int64_t(a.shape(d)) == want[d];
  if (!ok)
    throw spikecore::value_error(std::string(name) + ": expected shape [" +
                                 std::to_string(want[0]) + ", " + std::to_string(want[1]) + ", " +
                                 std::to_string(want[2]) + ", " + std::to_string(want[3]) + "]");
}

// Convolution geometry from the input-side array `in` [n, ci, h, w] (x, or gx for the input
// gradient), the output-side array `out` [n, co, oh, ow] (y or gy), kernel (kh, kw), stride and
// padding; checks both shapes and the synapse structure (rows = ci * kh * kw, post in [0, co)).
template <typename In, typename Out>
sl::ConvGeometry conv_geometry(const In& in, const char* in_name, const Out& out,
                               const char* out_name, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                               int64_t ph, int64_t pw, const CArr<int64_t>& row_ptr,
                               const CArr<int32_t>& post) {
  if (out.ndim() != 4)
    throw spikecore::value_error(std::string(out_name) + ": expected [N, Co, OH, OW]");
  if (in.ndim() != 4)
    throw spikecore::value_error(std::string(in_name) + ": expected [N, C, H, W]");
  if (kh < 1 || kw < 1) throw spikecore::value_error("kernel_size: must be >= 1");
  if (sh < 1 || sw < 1) throw spikecore::value_error("stride: must be >= 1");
  if (ph < 0 || pw < 0) throw spikecore::value_error("padding: must be >= 0");
  sl::ConvGeometry g;
  g.co = int64_t(out.shape(1));
  if (g.co < 1) throw spikecore::value_error("out_channels: must be >= 1");
  g.n = int64_t(in.shape(0));
  g.ci = int64_t(in.shape(1));
  g.h = int64_t(in.shape(2));
  g.w = int64_t(in.shape(3));
  g.kh = kh, g.kw = kw, g.sh = sh, g.sw = sw, g.ph = ph, g.pw = pw;
  if (g.h + 2 * ph < kh || g.w + 2 * pw < kw)
    throw spikecore::value_error(std::string(in_name) + ": padded input smaller than the kernel");
  g.oh = (g.h + 2 * ph - kh) / sh + 1;
  g.ow = (g.w + 2 * pw - kw) / sw + 1;
  check_structure(row_ptr, post, g.ci * kh * kw, g.co);
  need_shape(out, g, false, out_name);
  return g;
}

void check_algorithm(int algorithm) {
  if (algorithm < 0 || algorithm > 2)
    throw spikecore::value_error("algorithm: expected 0 (auto), 1 (events) or 2 (batch-inner)");
}

template <typename T>
void bind_dtype(nb::module_ m) {
  m.def(
      "synapse_linear_forward",
      [](CArr<T> xt, CArr<int64_t> row_ptr, CArr<int32_t> post, CArr<T> w, int64_t n_out,
         CArr<T> bias, Arr<T> yt, int n_threads) {
        if (xt.ndim() != 2) throw spikecore::value_error("xt: expected [n_in, rows]");
        const int64_t n_in = xt.shape(0), rows = xt.shape(1);
        if (n_out < 0) throw spikecore::value_error("n_out: must be >= 0");
        check_structure(row_ptr, post, n_in, n_out);
        need(w, post.size(), "w");
        const T* b = nullptr;
        if (bias.size() != 0) {
          need(bias, size_t(n_out), "bias");
          b = bias.data();
        }
        need(yt, size_t(rows * n_out), "yt");
        nb::gil_scoped_release r;
        sl::synapse_linear_forward<T>(xt.data(), rows, n_in, row_ptr.data(), post.data(), w.data(),
                                      n_out, b, yt.data(), n_threads);
      },
      nb::arg("xt"), nb::arg("row_ptr"), nb::arg("post"), nb::arg("w"), nb::arg("n_out"),
      nb::arg("bias"), nb::arg("yt"), nb::arg("n_threads") = 1);
  m.def(
      "synapse_linear_grad_input",
      [](CArr<T> gyt, CArr<int64_t> row_ptr, CArr<int32_t> post, CArr<T> w, Arr<T> gxt,
         int n_threads) {
        if (gyt.ndim() != 2 || gxt.ndim() != 2)
          throw spikecore::value_error("gyt, gxt: expected 2-D arrays");
        const int64_t n_out = gyt.shape(0), rows = gyt.shape(1), n_in = gxt.shape(0);
        if (int64_t(gxt.shape(1)) != rows)
          throw spikecore::value_error("gxt: shape must be [n_in, rows]");
        check_structure(row_ptr, post, n_in, n_out);
        need(w, post.size(), "w");
        nb::gil_scoped_release r;
        sl::synapse_linear_grad_input<T>(gyt.data(), rows, n_in, row_ptr.data(), post.data(),
                                         w.data(), n_out, gxt.data(), n_threads);
      },
      nb::arg("gyt"), nb::arg("row_ptr"), nb::arg("post"), nb::arg("w"), nb::arg("gxt"),
      nb::arg("n_threads") = 1);
  m.def(
      "synapse_linear_grad_weight",
      [](CArr<T> xt, CArr<T> gyt, CArr<int64_t> row_ptr, CArr<int32_t> post, Arr<T> gw,
         int n_threads) {
        if (xt.ndim() != 2 || gyt.ndim() != 2)
          throw spikecore::value_error("xt, gyt: expected 2-D arrays");
        const int64_t n_in = xt.shape(0), rows = xt.shape(1), n_out = gyt.shape(0);
        if (int64_t(gyt.shape(1)) != rows)
          throw spikecore::value_error("gyt: shape must be [n_out, rows]");
        check_structure(row_ptr, post, n_in, n_out);
        need(gw, post.size(), "gw");
        nb::gil_scoped_release r;
        sl::synapse_linear_grad_weight<T>(xt.data(), gyt.data(), rows, n_in, row_ptr.data(),
                                          post.data(), n_out, gw.data(), n_threads);
      },
      nb::arg("xt"), nb::arg("gyt"), nb::arg("row_ptr"), nb::arg("post"), nb::arg("gw"),
      nb::arg("n_threads") = 1);
  m.def(
      "sparse_conv2d_forward",
      [](CArr<T> x, CArr<int64_t> row_ptr, CArr<int32_t> post, CArr<T> w, CArr<T> bias, int64_t kh,
         int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw, Arr<T> y, int n_threads,
         int algorithm) {
        auto g = conv_geometry(x, "x", y, "y", kh, kw, sh, sw, ph, pw, row_ptr, post);
        need(w, post.size(), "w");
        const T* b = opt(bias, size_t(g.co), "bias");
        check_algorithm(algorithm);
        nb::gil_scoped_release r;
        sl::sparse_conv2d_forward<T>(g, x.data(), row_ptr.data(), post.data(), w.data(), b,
                                     y.data(), n_threads, algorithm);
      },
      nb::arg("x"), nb::arg("row_ptr"), nb::arg("post"), nb::arg("w"), nb::arg("bias"),
      nb::arg("kh"), nb::arg("kw"), nb::arg("sh"), nb::arg("sw"), nb::arg("ph"), nb::arg("pw"),
      nb::arg("y"), nb::arg("n_threads") = 1, nb::arg("algorithm") = 0);
  m.def(
      "sparse_conv2d_grad_input",
      [](CArr<T> gy, CArr<int64_t> row_ptr, CArr<int32_t> post, CArr<T> w, int64_t kh, int64_t kw,
         int64_t sh, int64_t sw, int64_t ph, int64_t pw, Arr<T> gx, int n_threads) {
        auto g = conv_geometry(gx, "gx", gy, "gy", kh, kw, sh, sw, ph, pw, row_ptr, post);
        need(w, post.size(), "w");
        nb::gil_scoped_release r;
        sl::sparse_conv2d_grad_input<T>(g, gy.data(), row_ptr.data(), post.data(), w.data(),
                                        gx.data(), n_threads);
      },
      nb::arg("gy"), nb::arg("row_ptr"), nb::arg("post"), nb::arg("w"), nb::arg("kh"),
      nb::arg("kw"), nb::arg("sh"), nb::arg("sw"), nb::arg("ph"), nb::arg("pw"), nb::arg("gx"),
      nb::arg("n_threads") = 1);
  m.def(
      "sparse_conv2d_backward",
      [](CArr<T> x, CArr<T> gy, CArr<int64_t> row_ptr, CArr<int32_t> post, CArr<T> w, int64_t kh,
         int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw, Arr<T> gx, Arr<T> gw,
         int n_threads, int algorithm) {
        auto g = conv_geometry(x, "x", gy, "gy", kh, kw, sh, sw, ph, pw, row_ptr, post);
        need(w, post.size(), "w");
        T* gxp = nullptr;
        if (gx.size() != 0) {
          need_shape(gx, g, true, "gx");
          gxp = gx.data();
        }
        T* gwp = gw.size() != 0 ? gw.data() : nullptr;
        if (gwp) need(gw, post.size(), "gw");
        check_algorithm(algorithm);
        nb::gil_scoped_release r;
        sl::sparse_conv2d_backward<T>(g, x.data(), gy.data(), row_ptr.data(), post.data(), w.data(),
                                      gxp, gwp, n_threads, algorithm);
      },
      nb::arg("x"), nb::arg("gy"), nb::arg("row_ptr"), nb::arg("post"), nb::arg("w"), nb::arg("kh"),
      nb::arg("kw"), nb::arg("sh"), nb::arg("sw"), nb::arg("ph"), nb::arg("pw"), nb::arg("gx"),
      nb::arg("gw"), nb::arg("n_threads") = 1, nb::arg("algorithm") = 0);
  m.def(
      "sparse_conv2d_grad_weight",
      [](CArr<T> x, CArr<T> gy, CArr<int64_t> row_ptr, CArr<int32_t> post, int64_t kh, int64_t kw,
         int64_t sh, int64_t sw, int64_t ph, int64_t pw, Arr<T> gw, int n_threads, int algorithm) {
        auto g = conv_geometry(x, "x", gy, "gy", kh, kw, sh, sw, ph, pw, row_ptr, post);
        need(gw, post.size(), "gw");
        check_algorithm(algorithm);
        nb::gil_scoped_release r;
        sl::sparse_conv2d_grad_weight<T>(g, x.data(), gy.data(), row_ptr.data(), post.data(),
                                         gw.data(), n_threads, algorithm);
      },
      nb::arg("x"), nb::arg("gy"), nb::arg("row_ptr"), nb::arg("post"), nb::arg("kh"),
      nb::arg("kw"), nb::arg("sh"), nb::arg("sw"), nb::arg("ph"), nb::arg("pw"), nb::arg("gw"),
      nb::arg("n_threads") = 1, nb::arg("algorithm") = 0);
}

}  // namespace

void bind_learn(nb::module_ m) {
  bind_dtype<float>(m);
  bind_dtype<double>(m);
}
