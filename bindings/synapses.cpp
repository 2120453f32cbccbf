// Bindings for SynapseMatrix (translation only).
#include <nanobind/stl/string.h>

#include "bindings.hpp"
#include "spikecore/core/errors.hpp"
#include "spikecore/synapses/synapse_matrix.hpp"

using spikecore::SynapseMatrix;
using namespace spikecore_bind;

template <typename T>
using Vec = nb::ndarray<const T, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

void bind_synapses(nb::module_ m) {
  nb::class_<SynapseMatrix>(m, "SynapseMatrix")
      .def(nb::init<int32_t, int32_t>(), nb::arg("n_pre"), nb::arg("n_post"))
      .def_static(
          "from_coo",
          [](int32_t n_pre, int32_t n_post, Vec<int32_t> pre, Vec<int32_t> post, Vec<float> w,
             Vec<uint16_t> d, double slack) {
            const size_t n = pre.shape(0);
            if (post.shape(0) != n) throw spikecore::value_error("post: length differs from pre");
            if (w.shape(0) != n) throw spikecore::value_error("weight: length differs from pre");
            if (d.shape(0) != n) throw spikecore::value_error("delay: length differs from pre");
            nb::gil_scoped_release r;
            return SynapseMatrix::from_coo(n_pre, n_post, pre.data(), post.data(), w.data(),
                                           d.data(), int64_t(n), slack);
          },
          nb::arg("n_pre"), nb::arg("n_post"), nb::arg("pre"), nb::arg("post"), nb::arg("weight"),
          nb::arg("delay"), nb::arg("slack") = 0.0)
      .def_prop_ro("n_pre", &SynapseMatrix::n_pre)
      .def_prop_ro("n_post", &SynapseMatrix::n_post)
      .def_prop_ro("nnz", &SynapseMatrix::nnz)
      .def_prop_ro("capacity", &SynapseMatrix::capacity)
      .def_prop_ro("memory_bytes", &SynapseMatrix::memory_bytes)
      .def_prop_ro("index_bytes", &SynapseMatrix::index_bytes,
                   "bytes per stored target index: 2 when n_post <= 65536, else 4")
      .def("max_delay", &SynapseMatrix::max_delay)
      .def(
          "to_coo",
          [](const SynapseMatrix& s) {
            const size_t n = size_t(s.nnz());
            std::vector<int32_t> pre(n), post(n);
            std::vector<float> w(n);
            std::vector<uint16_t> d(n);
            s.to_coo(pre.data(), post.data(), w.data(), d.data());
            return nb::make_tuple(to_numpy(std::move(pre)), to_numpy(std::move(post)),
                                  to_numpy(std::move(w)), to_numpy(std::move(d)));
          },
          "(pre, post, weight, delay) arrays in row order")
      .def("to_dense",
           [](const SynapseMatrix& s) {
             float* p;
             auto a = new_numpy<float>({size_t(s.n_pre()), size_t(s.n_post())}, &p);
             s.to_dense(p);
             return a;
           })
      .def("to_mask",
           [](const SynapseMatrix& s) {
             uint8_t* p;
             auto a = new_numpy<uint8_t>({size_t(s.n_pre()), size_t(s.n_post())}, &p);
             s.to_mask(p);
             return a;
           })
      .def("contains", &SynapseMatrix::contains, nb::arg("pre"), nb::arg("post"))
      .def(
          "set_weights",
          [](SynapseMatrix& s, Vec<float> w) { s.set_weights(w.data(), int64_t(w.shape(0))); },
          nb::arg("weight"), "Set all weights, given in row order")
      .def(
          "prune_smallest", [](SynapseMatrix& s, double f) { return s.prune_smallest(f); },
          nb::arg("fraction"), nb::call_guard<nb::gil_scoped_release>())
      .def(
          "prune_random",
          [](SynapseMatrix& s, double f, uint64_t seed, uint64_t step) {
            return s.prune_random(f, seed, step);
          },
          nb::arg("fraction"), nb::arg("seed"), nb::arg("step") = 0,
          nb::call_guard<nb::gil_scoped_release>())
      .def("prune_below", &SynapseMatrix::prune_below, nb::arg("threshold"),
           nb::call_guard<nb::gil_scoped_release>())
      .def(
          "prune_flagged",
          [](SynapseMatrix& s, Vec<uint8_t> flags) {
            if (int64_t(flags.shape(0)) != s.nnz())
              throw spikecore::value_error("flags: length must equal nnz");
            return s.prune_flagged(flags.data());
          },
          nb::arg("flags"))
      .def(
          "regrow_random",
          [](SynapseMatrix& s, int64_t count, float weight, uint16_t delay, bool aut, bool mult,
             uint64_t seed, uint64_t step, int32_t post_per_pre) {
            return s.regrow_random(count, weight, delay, aut, mult, seed, step, post_per_pre);
          },
          nb::arg("count"), nb::arg("weight") = 0.f, nb::arg("delay") = 1,
          nb::arg("allow_autapses") = true, nb::arg("allow_multapses") = false, nb::arg("seed") = 0,
          nb::arg("step") = 0, nb::arg("post_per_pre") = 1,
          nb::call_guard<nb::gil_scoped_release>())
      .def(
          "regrow_top_scores",
          [](SynapseMatrix& s, int64_t count,
             nb::ndarray<const float, nb::ndim<2>, nb::c_contig, nb::device::cpu> scores,
             float weight, uint16_t delay, bool allow_autapses, int32_t post_per_pre) {
            if (scores.shape(0) != size_t(s.n_pre()) || scores.shape(1) != size_t(s.n_post()))
              throw spikecore::value_error("scores: shape must be (n_pre, n_post)");
            nb::gil_scoped_release r;
            return s.regrow_top_scores(count, scores.data(), weight, delay, allow_autapses,
                                       post_per_pre);
          },
          nb::arg("count"), nb::arg("scores"), nb::arg("weight") = 0.f, nb::arg("delay") = 1,
          nb::arg("allow_autapses") = true, nb::arg("post_per_pre") = 1)
      .def(
          "insert",
          [](SynapseMatrix& s, Vec<int32_t> pre, Vec<int32_t> post, Vec<float> w, Vec<uint16_t> d) {
            const size_t n = pre.shape(0);
            if (post.shape(0) != n || w.shape(0) != n || d.shape(0) != n)
              throw spikecore::value_error("post/weight/delay: lengths must equal len(pre)");
            s.insert(pre.data(), post.data(), w.data(), d.data(), int64_t(n));
          },
          nb::arg("pre"), nb::arg("post"), nb::arg("weight"), nb::arg("delay"))
      .def("check_invariants", &SynapseMatrix::check_invariants);
}
