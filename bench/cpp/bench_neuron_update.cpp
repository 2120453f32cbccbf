// Microbenchmark: the LIF / ALIF steps of neurons/lif.hpp and alif.hpp over N neurons (delta and
// current-based exponential synapses): the scalar lif_step in a loop, and the engine's block
// steps lif_block / alif_block over chunks of 512 neurons (as cpp/src/engine/update.cpp).
//
// Inputs come from a preallocated array (copied into the "ring slot" each step, as the block
// steps read and clear it); prints the median time per neuron-step over repeats and the
// equivalent neuron updates per second.
#include <algorithm>

#include "bench_common.hpp"
#include "spikecore/neurons/alif.hpp"
#include "spikecore/neurons/lif.hpp"

using namespace spikecore;

template <SynapseKind K>
static void run(const char* name, int32_t n, int steps, int repeats) {
  LIFParams p;
  p.synapse = K;
  p.tau_m = 20.0;
  p.v_th = 20.0;
  p.v_reset = 10.0;
  p.t_ref = 2.0;
  const LIFCoeffs c = LIFCoeffs::make(p, 0.1);
  LIFState s;
  s.resize(size_t(n), 0.f);
  std::vector<float> in_ex(static_cast<size_t>(n)), in_in(static_cast<size_t>(n));
  for (int32_t i = 0; i < n; ++i) {
    CounterRng rng(5, 1, uint64_t(i), 0);
    s.v[size_t(i)] = float(20.0 * rng.uniform());
    in_ex[size_t(i)] = float(0.1 + 0.8 * rng.uniform());
    in_in[size_t(i)] = float(-0.5 * rng.uniform());
  }
  std::vector<int32_t> spiked(static_cast<size_t>(n));
  std::vector<double> times;
  int64_t n_spikes = 0;
  for (int r = 0; r < repeats + 1; ++r) {
    const double t0 = bench::now_s();
    for (int t = 0; t < steps; ++t) {
      int32_t ns = 0;
      float* v = s.v.data();
      float* ie = s.i_ex.data();
      float* ii = s.i_in.data();
      int32_t* ref = s.ref.data();
      for (int32_t i = 0; i < n; ++i) {
        if (lif_step<K>(c, v[i], ie[i], ii[i], ref[i], in_ex[size_t(i)], in_in[size_t(i)]))
          spiked[size_t(ns++)] = i;
      }
      n_spikes += ns;
    }
    if (r > 0) times.push_back(bench::now_s() - t0);
  }
  const double per = bench::median(times) / (double(n) * steps);
  bench::report(name, per * 1e9, "ns/neuron-step",
                "N = " + std::to_string(n) + ", " + std::to_string(1.0 / per / 1e6).substr(0, 6) +
                    " M updates/s, " + std::to_string(n_spikes) + " spikes");
}

// lif_block (Adapt = false) or alif_block over chunks, the engine's update loop.
template <SynapseKind K, bool Adapt>
static void run_block(const char* name, int32_t n, int steps, int repeats) {
  ALIFParams ap;
  ap.lif.synapse = K;
  ap.lif.tau_m = 20.0;
  ap.lif.v_th = 20.0;
  ap.lif.v_reset = 10.0;
  ap.lif.t_ref = 2.0;
  const ALIFCoeffs c = ALIFCoeffs::make(ap, 0.1);
  LIFState s;
  s.resize(size_t(n), 0.f);
  std::vector<float> a(static_cast<size_t>(n), 0.f);
  std::vector<float> x_ex(static_cast<size_t>(n)), x_in(static_cast<size_t>(n));
  for (int32_t i = 0; i < n; ++i) {
    CounterRng rng(5, 1, uint64_t(i), 0);
    s.v[size_t(i)] = float(20.0 * rng.uniform());
    x_ex[size_t(i)] = float(0.1 + 0.8 * rng.uniform());
    x_in[size_t(i)] = float(-0.5 * rng.uniform());
  }
  std::vector<float> in0(x_ex.size()), in1(x_in.size());
  constexpr int32_t C = 512;
  alignas(64) int32_t flag[C];
  std::vector<double> times;
  int64_t n_spikes = 0;
  for (int r = 0; r < repeats + 1; ++r) {
    const double t0 = bench::now_s();
    for (int t = 0; t < steps; ++t) {
      std::copy(x_ex.begin(), x_ex.end(), in0.begin());
      std::copy(x_in.begin(), x_in.end(), in1.begin());
      for (int32_t b = 0; b < n; b += C) {
        const int32_t len = std::min(C, n - b);
        if (Adapt)
          alif_block<K, false, false>(c, s, a.data(), b, len, in0.data(), in1.data(), nullptr, 0.f,
                                      flag);
        else
          lif_block<K, false, false>(c.lif, s, b, len, in0.data(), in1.data(), nullptr, 0.f, flag);
        for (int32_t k = 0; k < len; ++k) n_spikes += flag[k];
      }
    }
    if (r > 0) times.push_back(bench::now_s() - t0);
  }
  const double per = bench::median(times) / (double(n) * steps);
  bench::report(name, per * 1e9, "ns/neuron-step",
                "N = " + std::to_string(n) + ", " + std::to_string(1.0 / per / 1e6).substr(0, 6) +
                    " M updates/s, " + std::to_string(n_spikes) + " spikes");
}

int main(int argc, char** argv) {
  const bool q = bench::quick(argc, argv);
  const int steps = q ? 200 : 1000, repeats = q ? 3 : 7;
  for (int32_t n : {12500, 1000000}) {
    if (q && n > 12500) break;
    run<SynapseKind::Delta>("lif_step<Delta>", n, n > 100000 ? steps / 10 : steps, repeats);
    run<SynapseKind::Exp>("lif_step<Exp>", n, n > 100000 ? steps / 10 : steps, repeats);
    const int st = n > 100000 ? steps / 10 : steps;
    run_block<SynapseKind::Delta, false>("lif_block<Delta>", n, st, repeats);
    run_block<SynapseKind::Exp, false>("lif_block<Exp>", n, st, repeats);
    run_block<SynapseKind::Delta, true>("alif_block<Delta>", n, st, repeats);
    run_block<SynapseKind::Exp, true>("alif_block<Exp>", n, st, repeats);
  }
  return 0;
}
