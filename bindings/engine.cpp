// Bindings for the engine subsystem (translation only). Owned by the engine work area.
// The Python face is spikecore.sim.Network; this low-level class is spikecore._core.engine.Network.
#include <nanobind/stl/string.h>
#include <nanobind/stl/string_view.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include "bindings.hpp"
#include "spikecore/core/errors.hpp"
#include "spikecore/core/memory.hpp"
#include "spikecore/core/thread_pool.hpp"
#include "spikecore/engine/network.hpp"

using namespace spikecore;
using namespace spikecore_bind;

namespace {
template <typename T>
using Vec = nb::ndarray<const T, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using Mat = nb::ndarray<const float, nb::ndim<2>, nb::c_contig, nb::device::cpu>;

ValueSpec spec(int kind, double a, double b, const Vec<float>& arr) {
  ValueSpec s;
  if (kind < 0 || kind > 3) throw value_error("kind: unknown value specification");
  s.kind = ValueSpec::Kind(kind);
  s.a = a;
  s.b = b;
  s.arr = arr.data();
  s.len = int64_t(arr.shape(0));
  return s;
}

template <typename T>
nb::ndarray<nb::numpy, T, nb::ndim<1>> copy_vec(const std::vector<T>& v) {
  return to_numpy(std::vector<T>(v));
}

// A Python reduce(v, exscan) (in place on an int64 numpy view of the core's buffer) as the core's
// RankReduce; None: one process. Called by the core with the GIL released: it takes the GIL back
// for the call. The callable outlives the core call (the binding's argument holds it).
Network::RankReduce rank_reduce(const nb::object& f) {
  if (f.is_none()) return {};
  if (!PyCallable_Check(f.ptr())) throw nb::type_error("reduce: must be callable or None");
  nb::handle h = f;
  return [h](int64_t* v, int64_t n, bool exscan) {
    nb::gil_scoped_acquire g;
    size_t shape[1] = {size_t(n)};
    nb::ndarray<nb::numpy, int64_t, nb::ndim<1>> view(v, 1, shape, nb::handle());
    h(nb::cast(view, nb::rv_policy::reference), exscan);  // a view: no copy
  };
}

void same_len(size_t a, size_t b, const char* arg) {
  if (a != b) throw value_error(std::string(arg) + ": length differs from the other arrays");
}

LIFParams lif_params(double tau_m, double v_rest, double v_reset, double v_th, double t_ref,
                     double tau_syn_ex, double tau_syn_in, double i_e, bool soft_reset,
                     int synapse) {
  LIFParams p;
  p.tau_m = tau_m;
  p.v_rest = v_rest;
  p.v_reset = v_reset;
  p.v_th = v_th;
  p.t_ref = t_ref;
  p.tau_syn_ex = tau_syn_ex;
  p.tau_syn_in = tau_syn_in;
  p.i_e = i_e;
  p.soft_reset = soft_reset;
  if (synapse != 0 && synapse != 1) throw value_error("synapse: must be 'delta' or 'exp'");
  p.synapse = SynapseKind(synapse);
  return p;
}
}  // namespace

void bind_engine(nb::module_ m) {
  m.def("memory_limit", &memory_limit,
        "Bytes one request may allocate (default: the physical memory); sizes derived from "
        "arguments above it raise MemoryError before allocating.");
  m.def("set_memory_limit", &set_memory_limit, nb::arg("bytes"),
        "Set the memory ceiling of one request (bytes > 0), for the core and the Python layers.");
  m.def("check_memory", &require_memory, nb::arg("nbytes"), nb::arg("name"), nb::arg("what"),
        "MemoryError naming `name` when `nbytes` (needed for `what`) exceed memory_limit(); the "
        "core's own check, for the Python layers (spikecore._guards.check_bytes).");
  m.def(
      "max_threads", [] { return kMaxThreads; },
      "The most threads one team may have: the bound on every n_threads argument of the core.");
  nb::class_<Network>(m, "Network")
      .def(nb::init<double, int, uint64_t, double>(), nb::arg("dt"), nb::arg("n_threads"),
           nb::arg("seed"), nb::arg("max_delay"))
      .def_prop_ro("dt", &Network::dt)
      .def_prop_rw("step", &Network::step, &Network::set_step)
      .def_prop_ro("seed", &Network::seed)
      .def_prop_rw("n_threads", &Network::n_threads, &Network::set_n_threads)
      .def_prop_rw("events", &Network::events, &Network::set_events)
      .def_prop_ro("memory_bytes", &Network::memory_bytes)
      .def_prop_ro("memory_parts", &Network::memory_parts)
      .def_prop_ro("max_delay_steps", &Network::max_delay_steps)
      .def_prop_ro("n_populations", &Network::n_populations)
      .def_prop_ro("n_projections", &Network::n_projections)
      // populations
      .def(
          "add_lif",
          [](Network& n, int32_t size, double tau_m, double v_rest, double v_reset, double v_th,
             double t_ref, double tau_syn_ex, double tau_syn_in, double i_e, bool soft_reset,
             int synapse, const std::string& name) {
            return n.add_lif(size,
                             lif_params(tau_m, v_rest, v_reset, v_th, t_ref, tau_syn_ex, tau_syn_in,
                                        i_e, soft_reset, synapse),
                             name);
          },
          nb::arg("size"), nb::arg("tau_m"), nb::arg("v_rest"), nb::arg("v_reset"), nb::arg("v_th"),
          nb::arg("t_ref"), nb::arg("tau_syn_ex"), nb::arg("tau_syn_in"), nb::arg("i_e"),
          nb::arg("soft_reset"), nb::arg("synapse"), nb::arg("name"))
      .def(
          "add_alif",
          [](Network& n, int32_t size, double tau_m, double v_rest, double v_reset, double v_th,
             double t_ref, double tau_syn_ex, double tau_syn_in, double i_e, bool soft_reset,
             int synapse, double tau_a, double beta_a, const std::string& name) {
            ALIFParams p;
            p.lif = lif_params(tau_m, v_rest, v_reset, v_th, t_ref, tau_syn_ex, tau_syn_in, i_e,
                               soft_reset, synapse);
            p.tau_a = tau_a;
            p.beta_a = beta_a;
            return n.add_alif(size, p, name);
          },
          nb::arg("size"), nb::arg("tau_m"), nb::arg("v_rest"), nb::arg("v_reset"), nb::arg("v_th"),
          nb::arg("t_ref"), nb::arg("tau_syn_ex"), nb::arg("tau_syn_in"), nb::arg("i_e"),
          nb::arg("soft_reset"), nb::arg("synapse"), nb::arg("tau_a"), nb::arg("beta_a"),
          nb::arg("name"))
      .def("add_discrete", &Network::add_discrete, nb::arg("size"), nb::arg("beta"),
           nb::arg("v_rest"), nb::arg("v_th"), nb::arg("v_reset"), nb::arg("soft_reset"),
           nb::arg("rho"), nb::arg("beta_a"), nb::arg("name"))
      .def("add_source", &Network::add_source, nb::arg("size"), nb::arg("name"))
      .def(
          "add_celif",
          [](Network& n, int32_t size, double beta, double rho, double beta_a, double gamma,
             double v_th, Vec<float> lam, Vec<float> omlam, bool shared, const std::string& name) {
            if (int64_t(lam.shape(0)) != size || int64_t(omlam.shape(0)) != size)
              throw value_error("lambda_c: expected one value per neuron");
            return n.add_celif(size, beta, rho, beta_a, gamma, v_th, lam.data(), omlam.data(),
                               shared, name);
          },
          nb::arg("size"), nb::arg("beta"), nb::arg("rho"), nb::arg("beta_a"), nb::arg("gamma"),
          nb::arg("v_th"), nb::arg("lambda_c"), nb::arg("one_m_lambda"), nb::arg("shared"),
          nb::arg("name"))
      .def(
          "add_if",
          [](Network& n, int32_t size, Vec<float> theta, double v0, double negative_slope,
             const std::string& name) {
            if (int64_t(theta.shape(0)) != size)
              throw value_error("v_threshold: expected one threshold per neuron");
            IFParams p;
            p.v0 = v0;
            p.negative_slope = negative_slope;
            return n.add_if(size, p, theta.data(), name);
          },
          nb::arg("size"), nb::arg("v_th"), nb::arg("v0"), nb::arg("negative_slope"),
          nb::arg("name"))
      .def(
          "add_stdi",
          [](Network& n, int32_t size, Vec<float> theta, int32_t T, int32_t delay, bool rounding,
             double negative_slope, int32_t start, const std::string& name) {
            if (int64_t(theta.shape(0)) != size)
              throw value_error("v_threshold: expected one threshold per neuron");
            STDIParams p;
            p.T = T;
            p.delay = delay;
            p.rounding = rounding;
            p.negative_slope = negative_slope;
            return n.add_stdi(size, p, theta.data(), start, name);
          },
          nb::arg("size"), nb::arg("v_th"), nb::arg("T"), nb::arg("delay"), nb::arg("rounding"),
          nb::arg("negative_slope"), nb::arg("start"), nb::arg("name"))
      .def(
          "add_maxgate",
          [](Network& n, int32_t size, int32_t K, Vec<int32_t> count, int32_t stdi_T,
             bool is_signed, int32_t start, const std::string& name) {
            if (count.shape(0) != 0 && int64_t(count.shape(0)) != size)
              throw value_error("count: expected one value per neuron");
            return n.add_maxgate(size, K, count.shape(0) ? count.data() : nullptr, stdi_T,
                                 is_signed, start, name);
          },
          nb::arg("size"), nb::arg("kernel"), nb::arg("count"), nb::arg("T"), nb::arg("signed"),
          nb::arg("start"), nb::arg("name"))
      .def(
          "set_branches",
          [](Network& n, int32_t p, int32_t K, int g, double decay, Vec<float> bias) {
            const int64_t want = int64_t(n.population(p).n) * K;
            if (bias.shape(0) != 0 && int64_t(bias.shape(0)) != want)
              throw value_error("branch_bias: expected n x branches = " + std::to_string(want) +
                                " values");
            n.set_branches(p, K, BranchFn(g), decay, bias.shape(0) ? bias.data() : nullptr);
          },
          nb::arg("pop"), nb::arg("K"), nb::arg("branch_fn"), nb::arg("decay"), nb::arg("bias"))
      .def(
          "pop_info",
          [](const Network& n, int32_t p) {
            const Population& q = n.population(p);
            return nb::make_tuple(q.name, q.n, int(q.model), int(q.kind), q.discrete, q.br.K,
                                  q.n_rec());
          },
          nb::arg("pop"))
      // state
      .def(
          "init_uniform",
          [](Network& n, int32_t p, int var, double lo, double hi) {
            n.init_uniform(p, StateVar(var), lo, hi);
          },
          nb::arg("pop"), nb::arg("var"), nb::arg("lo"), nb::arg("hi"))
      .def(
          "state_size",
          [](const Network& n, int32_t p, int var) { return n.state_size(p, StateVar(var)); },
          nb::arg("pop"), nb::arg("var"))
      .def(
          "get_state",
          [](const Network& n, int32_t p, int var) {
            std::vector<float> out(size_t(n.state_size(p, StateVar(var))));
            if (!out.empty()) n.get_state(p, StateVar(var), out.data());
            return to_numpy(std::move(out));
          },
          nb::arg("pop"), nb::arg("var"))
      .def(
          "set_state",
          [](Network& n, int32_t p, int var, Vec<float> x) {
            const int64_t len = n.state_size(p, StateVar(var));
            if (int64_t(x.shape(0)) != len)
              throw value_error("value: length must be " + std::to_string(len) +
                                " (the size of this variable)");
            if (len) n.set_state(p, StateVar(var), x.data());
          },
          nb::arg("pop"), nb::arg("var"), nb::arg("x"))
      .def("reset_state", &Network::reset_state, nb::arg("pop"), nb::arg("clear_ring") = true)
      .def(
          "get_ring",
          [](const Network& n, int32_t p) {
            return nb::make_tuple(n.ring_slots(p), n.ring_receptors(p), copy_vec(n.ring(p)));
          },
          nb::arg("pop"))
      .def(
          "set_ring",
          [](Network& n, int32_t p, int32_t slots, Vec<float> x) {
            n.set_ring(p, slots, x.data(), int64_t(x.shape(0)));
          },
          nb::arg("pop"), nb::arg("slots"), nb::arg("x"))
      // projections
      .def(
          "connect",
          [](Network& n, int32_t pre, int32_t post, int rule, double param, int wk, double wa,
             double wb, Vec<float> warr, int dk, double da, double db, Vec<float> darr, bool aut,
             bool mult) {
            if (rule < 0 || rule > 4) throw value_error("rule: unknown connection rule");
            const ValueSpec w = spec(wk, wa, wb, warr), d = spec(dk, da, db, darr);
            nb::gil_scoped_release r;
            return n.connect(pre, post, ConnRule(rule), param, w, d, aut, mult);
          },
          nb::arg("pre"), nb::arg("post"), nb::arg("rule"), nb::arg("param"),
          nb::arg("weight_kind"), nb::arg("weight_a"), nb::arg("weight_b"), nb::arg("weight_array"),
          nb::arg("delay_kind"), nb::arg("delay_a"), nb::arg("delay_b"), nb::arg("delay_array"),
          nb::arg("allow_autapses"), nb::arg("allow_multapses"))
      .def(
          "connect_explicit",
          [](Network& n, int32_t pre, int32_t post, Vec<int32_t> pi, Vec<int32_t> qi, int wk,
             double wa, double wb, Vec<float> warr, int dk, double da, double db, Vec<float> darr,
             bool aut, bool mult) {
            same_len(pi.shape(0), qi.shape(0), "post_index");
            const ValueSpec w = spec(wk, wa, wb, warr), d = spec(dk, da, db, darr);
            nb::gil_scoped_release r;
            return n.connect_explicit(pre, post, pi.data(), qi.data(), int64_t(pi.shape(0)), w, d,
                                      aut, mult);
          },
          nb::arg("pre"), nb::arg("post"), nb::arg("pre_idx"), nb::arg("post_idx"),
          nb::arg("weight_kind"), nb::arg("weight_a"), nb::arg("weight_b"), nb::arg("weight_array"),
          nb::arg("delay_kind"), nb::arg("delay_a"), nb::arg("delay_b"), nb::arg("delay_array"),
          nb::arg("allow_autapses"), nb::arg("allow_multapses"))
      .def(
          "connect_steps",
          [](Network& n, int32_t pre, int32_t post, Vec<int32_t> pi, Vec<int32_t> qi, Vec<float> w,
             Vec<uint16_t> d, bool aut, bool mult) {
            same_len(pi.shape(0), qi.shape(0), "post_index");
            same_len(pi.shape(0), w.shape(0), "weight");
            same_len(pi.shape(0), d.shape(0), "delay");
            nb::gil_scoped_release r;
            return n.connect_steps(pre, post, pi.data(), qi.data(), w.data(), d.data(),
                                   int64_t(pi.shape(0)), aut, mult);
          },
          nb::arg("pre"), nb::arg("post"), nb::arg("pre_idx"), nb::arg("post_idx"), nb::arg("w"),
          nb::arg("d"), nb::arg("allow_autapses"), nb::arg("allow_multapses"))
      .def(
          "proj_info",
          [](const Network& n, int32_t j) {
            const Projection& p = n.projection(j);
            return nb::make_tuple(p.pre, p.post, p.allow_autapses, p.allow_multapses, p.m.nnz(),
                                  p.m.memory_bytes());
          },
          nb::arg("proj"))
      .def("set_receptor", &Network::set_receptor, nb::arg("proj"), nb::arg("receptor"))
      .def(
          "get_receptor", [](const Network& n, int32_t j) { return n.projection(j).receptor; },
          nb::arg("proj"))
      .def(
          "proj_coo",
          [](const Network& n, int32_t j) {
            const SynapseMatrix& s = n.matrix(j);
            const size_t k = size_t(s.nnz());
            std::vector<int32_t> pre(k), post(k);
            std::vector<float> w(k);
            std::vector<uint16_t> d(k);
            s.to_coo(pre.data(), post.data(), w.data(), d.data());
            return nb::make_tuple(to_numpy(std::move(pre)), to_numpy(std::move(post)),
                                  to_numpy(std::move(w)), to_numpy(std::move(d)));
          },
          nb::arg("proj"))
      // piece by piece (Network.save streams a projection without its whole COO in memory):
      // the synapse count of every row, and (post, weight, delay) of the rows [row_lo, row_hi)
      // in row order (the slice of proj_coo that those rows occupy)
      .def(
          "proj_row_lengths",
          [](const Network& n, int32_t j) {
            const SynapseMatrix& s = n.matrix(j);
            std::vector<int64_t> len(size_t(s.n_pre()));
            for (int32_t r = 0; r < s.n_pre(); ++r) len[size_t(r)] = s.row_len(r);
            return to_numpy(std::move(len));
          },
          nb::arg("proj"))
      .def(
          "proj_rows",
          [](const Network& n, int32_t j, int64_t row_lo, int64_t row_hi) {
            const SynapseMatrix& s = n.matrix(j);
            if (row_lo < 0 || row_hi < row_lo || row_hi > s.n_pre())
              throw value_error("rows: [" + std::to_string(row_lo) + ", " + std::to_string(row_hi) +
                                ") must lie inside [0, " + std::to_string(s.n_pre()) + ")");
            size_t k = 0;
            for (int64_t r = row_lo; r < row_hi; ++r) k += size_t(s.row_len(int32_t(r)));
            std::vector<int32_t> post(k);
            std::vector<float> w(k);
            std::vector<uint16_t> d(k);
            size_t i = 0;
            for (int64_t r = row_lo; r < row_hi; ++r)
              for (int64_t q = s.row_begin(int32_t(r)); q < s.row_end(int32_t(r)); ++q, ++i) {
                post[i] = s.post_at(q);
                w[i] = s.weight()[q];
                d[i] = s.delay()[q];
              }
            return nb::make_tuple(to_numpy(std::move(post)), to_numpy(std::move(w)),
                                  to_numpy(std::move(d)));
          },
          nb::arg("proj"), nb::arg("row_lo"), nb::arg("row_hi"))
      .def(
          "set_weights",
          [](Network& n, int32_t j, Vec<float> w) {
            n.set_weights(j, w.data(), int64_t(w.shape(0)));
          },
          nb::arg("proj"), nb::arg("w"))
      // structural plasticity; reduce: None (one process) or, on a partitioned network, a
      // callable reduce(v, exscan) that replaces the int64 array v in place by its sum over the
      // ranks (exscan False) or over the ranks before this one (True), called collectively
      .def(
          "prune_fraction",
          [](Network& n, int32_t j, double f, bool random, nb::object reduce) {
            const Network::RankReduce rr = rank_reduce(reduce);
            nb::gil_scoped_release r;
            return n.prune_fraction(j, f, random, rr);
          },
          nb::arg("proj"), nb::arg("fraction"), nb::arg("random"), nb::arg("reduce") = nb::none())
      .def(
          "prune_threshold",
          [](Network& n, int32_t j, double th, nb::object reduce) {
            const Network::RankReduce rr = rank_reduce(reduce);
            nb::gil_scoped_release r;
            return n.prune_threshold(j, th, rr);
          },
          nb::arg("proj"), nb::arg("threshold"), nb::arg("reduce") = nb::none())
      .def(
          "regrow_random",
          [](Network& n, int32_t j, int64_t count, double w, double d, nb::object reduce) {
            const Network::RankReduce rr = rank_reduce(reduce);
            nb::gil_scoped_release r;
            return n.regrow_random(j, count, w, d, rr);
          },
          nb::arg("proj"), nb::arg("count"), nb::arg("weight"), nb::arg("delay_ms"),
          nb::arg("reduce") = nb::none())
      .def(
          "regrow_scores",
          [](Network& n, int32_t j, int64_t count, Mat scores, double w, double d,
             nb::object reduce) {
            const SynapseMatrix& s = n.matrix(j);
            if (scores.shape(0) != size_t(s.n_pre()) || scores.shape(1) != size_t(s.n_post()))
              throw value_error("scores: shape must be (n_pre, n_post)");
            const Network::RankReduce rr = rank_reduce(reduce);
            nb::gil_scoped_release r;
            return n.regrow_scores(j, count, scores.data(), w, d, rr);
          },
          nb::arg("proj"), nb::arg("count"), nb::arg("scores"), nb::arg("w"), nb::arg("d"),
          nb::arg("reduce") = nb::none())
      // inputs
      .def("add_poisson", &Network::add_poisson, nb::arg("pop"), nb::arg("rate_hz"),
           nb::arg("weight"), nb::arg("lo"), nb::arg("hi"))
      .def(
          "add_events",
          [](Network& n, int32_t p, Vec<int64_t> s, Vec<int32_t> i, Vec<float> w) {
            same_len(s.shape(0), i.shape(0), "neurons");
            same_len(s.shape(0), w.shape(0), "weight");
            n.add_events(p, s.data(), i.data(), w.data(), int64_t(s.shape(0)));
          },
          nb::arg("pop"), nb::arg("s"), nb::arg("i"), nb::arg("w"))
      .def(
          "get_events",
          [](const Network& n, int32_t p) {
            const Population& q = n.population(p);
            return nb::make_tuple(copy_vec(q.ev_step), copy_vec(q.ev_id), copy_vec(q.ev_w));
          },
          nb::arg("pop"))
      .def(
          "add_source_spikes",
          [](Network& n, int32_t p, Vec<int64_t> s, Vec<int32_t> i) {
            same_len(s.shape(0), i.shape(0), "neurons");
            n.add_source_spikes(p, s.data(), i.data(), int64_t(s.shape(0)));
          },
          nb::arg("pop"), nb::arg("s"), nb::arg("i"))
      .def(
          "set_source_rates",
          [](Network& n, int32_t p, Vec<float> r) {
            if (int64_t(r.shape(0)) != n.population(p).n)
              throw value_error("rate: length must equal the population size");
            n.set_source_rates(p, r.data());
          },
          nb::arg("pop"), nb::arg("rec"))
      .def(
          "get_source_rates",
          [](const Network& n, int32_t p) { return copy_vec(n.population(p).src_rate); },
          nb::arg("pop"))
      .def(
          "get_source_spikes",
          [](const Network& n, int32_t p) {
            const Population& q = n.population(p);
            return nb::make_tuple(copy_vec(q.src_step), copy_vec(q.src_id));
          },
          nb::arg("pop"))
      .def(
          "set_current_const",
          [](Network& n, int32_t p, Vec<float> i) {
            if (int64_t(i.shape(0)) != n.population(p).n)
              throw value_error("current: length must equal the population size");
            n.set_current_const(p, i.data());
          },
          nb::arg("pop"), nb::arg("i"))
      .def(
          "set_current_steps",
          [](Network& n, int32_t p, int64_t start, Mat i) {
            if (int64_t(i.shape(1)) != n.population(p).n)
              throw value_error("current: shape must be (steps, population size)");
            n.set_current_steps(p, start, int64_t(i.shape(0)), i.data());
          },
          nb::arg("pop"), nb::arg("start"), nb::arg("i"))
      .def(
          "get_current",
          [](const Network& n, int32_t p) {
            const Population& q = n.population(p);
            return nb::make_tuple(copy_vec(q.i_const), q.i_start, q.i_len, copy_vec(q.i_steps));
          },
          nb::arg("pop"))
      // monitors
      .def("record_spikes", &Network::record_spikes, nb::arg("pop"))
      .def("record_state", &Network::record_state, nb::arg("pop"), nb::arg("vars"), nb::arg("idx"),
           nb::arg("every"))
      .def("record_rate", &Network::record_rate, nb::arg("pop"))
      .def(
          "get_spikes",
          [](Network& n, int32_t r) {
            const SpikeRecord& s = n.spike_record(r);
            return nb::make_tuple(s.pop, copy_vec(s.step), copy_vec(s.id));
          },
          nb::arg("rec"))
      .def(
          "set_spikes",
          [](Network& n, int32_t r, Vec<int64_t> s, Vec<int32_t> i) {
            same_len(s.shape(0), i.shape(0), "neurons");
            n.restore_spikes(r, s.data(), i.data(), int64_t(s.shape(0)));
          },
          nb::arg("rec"), nb::arg("s"), nb::arg("i"))
      .def(
          "get_state_record",
          [](Network& n, int32_t r) {
            const StateRecord& s = n.state_record(r);
            return nb::make_tuple(s.pop, s.vars, copy_vec(s.idx), s.every, s.start,
                                  copy_vec(s.step), copy_vec(s.data));
          },
          nb::arg("rec"))
      .def(
          "set_state_record",
          [](Network& n, int32_t r, int64_t start, Vec<int64_t> steps, Vec<float> data) {
            n.restore_state_record(r, start, steps.data(), int64_t(steps.shape(0)), data.data(),
                                   int64_t(data.shape(0)));
          },
          nb::arg("rec"), nb::arg("start"), nb::arg("steps"), nb::arg("data"))
      .def(
          "get_rate",
          [](Network& n, int32_t r) {
            const RateRecord& s = n.rate_record(r);
            return nb::make_tuple(s.pop, s.start, copy_vec(s.count));
          },
          nb::arg("rec"))
      .def(
          "set_rate",
          [](Network& n, int32_t r, int64_t start, Vec<int32_t> c) {
            n.restore_rate(r, start, c.data(), int64_t(c.shape(0)));
          },
          nb::arg("rec"), nb::arg("start"), nb::arg("c"))
      // running
      .def("run", &Network::run, nb::arg("n_steps"), nb::call_guard<nb::gil_scoped_release>())
      // distributed runs (spikecore.sim.distributed exchanges the spikes with mpi4py)
      .def("set_partition", &Network::set_partition, nb::arg("rank"), nb::arg("n_ranks"))
      .def_prop_ro("part_rank", &Network::part_rank)
      .def_prop_ro("part_size", &Network::part_size)
      .def(
          "owned_range",
          [](const Network& n, int32_t pop) {
            int64_t lo, hi;
            n.owned_range(n.population(pop).n, lo, hi);
            return nb::make_tuple(lo, hi);
          },
          nb::arg("pop"))
      .def("window_begin", &Network::window_begin, nb::arg("n_steps"),
           nb::call_guard<nb::gil_scoped_release>())
      .def("set_window", &Network::set_window, nb::arg("window"))
      .def_prop_ro("window_pending", &Network::window_pending)
      .def("window_finish", &Network::window_finish, nb::call_guard<nb::gil_scoped_release>())
      .def("window_abandon", &Network::window_abandon)
      .def_prop_ro("window_steps_left", &Network::window_steps_left)
      .def("window_update",
           [](Network& n) {
             std::vector<int32_t> ids, counts;
             {
               nb::gil_scoped_release r;
               n.window_update(ids, counts);
             }
             return nb::make_tuple(to_numpy(std::move(ids)), to_numpy(std::move(counts)));
           })
      .def(
          "window_deliver",
          [](Network& n, Vec<int32_t> ids, Vec<int32_t> counts, int32_t n_ranks) {
            nb::gil_scoped_release r;
            n.window_deliver(ids.data(), int64_t(ids.shape(0)), counts.data(),
                             int64_t(counts.shape(0)), n_ranks);
          },
          nb::arg("ids"), nb::arg("counts"), nb::arg("n_ranks"));
}
