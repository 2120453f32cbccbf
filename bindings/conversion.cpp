// Bindings for the conversion neurons' fused forward kernels (translation only): IF / signed IF
// and STDI. Arrays are caller-allocated, C-contiguous CPU arrays of one dtype (float32 or float64).
#include <cmath>
#include <string>

#include "bindings.hpp"
#include "spikecore/train/conversion_kernels.hpp"

namespace st = spikecore::train;
using namespace nb::literals;

namespace {

using namespace spikecore_bind;

template <typename T>
void check_theta(const CArr<T>& theta, int64_t n) {
  need(theta, size_t(n), "v_threshold");
  for (int64_t i = 0; i < n; ++i)
    if (!(theta.data()[i] > T(0)) || !std::isfinite(double(theta.data()[i])))
      throw spikecore::value_error("v_threshold: every threshold must be finite and > 0");
}

template <typename T>
void if_fwd(const CArr<T>& x, const CArr<T>& theta, Arr<T> z, int64_t steps, double v0,
            double negative_slope, int n_threads) {
  if (steps < 1) throw spikecore::value_error("steps: must be >= 1");
  const int64_t n = int64_t(x.size()) / steps;
  need(x, size_t(steps * n), "x");
  need(z, x.size(), "z");
  check_theta(theta, n);
  spikecore::IFParams p;
  p.v0 = v0;
  p.negative_slope = negative_slope;
  nb::gil_scoped_release nogil;
  st::if_forward<T>(p, x.data(), theta.data(), steps, n, z.data(), n_threads);
}

template <typename T>
void stdi_fwd(const CArr<T>& x, const CArr<T>& theta, Arr<T> z, int32_t steps, int32_t delay,
              bool rounding, double negative_slope, int n_threads) {
  spikecore::STDIParams p;
  p.T = steps;
  p.delay = delay;
  p.rounding = rounding;
  p.negative_slope = negative_slope;
  p.validate();
  const int64_t n = int64_t(x.size()) / steps;
  need(x, size_t(int64_t(steps) * n), "x");
  need(z, x.size(), "z");
  check_theta(theta, n);
  nb::gil_scoped_release nogil;
  st::stdi_forward<T>(p, x.data(), theta.data(), n, z.data(), n_threads);
}

template <typename T>
void bind_dtype(nb::module_& m) {
  m.def("if_forward", &if_fwd<T>, "x"_a, "v_threshold"_a, "z"_a, "steps"_a, "v0"_a = 0.5,
        "negative_slope"_a = 0.0, "n_threads"_a = 1,
        "IF / signed IF (negative_slope > 0), soft reset: spikes z [steps, n] of x [steps, n]");
  m.def("stdi_forward", &stdi_fwd<T>, "x"_a, "v_threshold"_a, "z"_a, "steps"_a, "delay"_a = 0,
        "rounding"_a = true, "negative_slope"_a = 0.0, "n_threads"_a = 1,
        "STDI neuron: the steps bits z [steps, n] of the window x [steps, n] (delay 0: D = T)");
}

}  // namespace

void bind_conversion(nb::module_& m) {
  bind_dtype<float>(m);
  bind_dtype<double>(m);
}
