// Bindings for the structure-learning kernels (translation only). Owned by the learn work area.
// Arrays are caller-allocated, C-contiguous CPU arrays; x / w / y of one dtype (float32 or
// float64). Sizes and index ranges are checked here, never in the kernels.
#include <string>

#include "bindings.hpp"
#include "spikecore/core/errors.hpp"
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
        sl::synapse_linear_forward<T>(xt.data(), rows, n_in, row_ptr.data(), post.data(),
                                      w.data(), n_out, b, yt.data(), n_threads);
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
}

}  // namespace

void bind_learn(nb::module_ m) {
  bind_dtype<float>(m);
  bind_dtype<double>(m);
}
