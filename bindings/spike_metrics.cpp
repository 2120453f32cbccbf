// Bindings for spike-train distances (translation only; the core computes, Python composes).
//   spikecore._core.spike_metrics.{van_rossum, victor_purpura, isi_distance, spike_distance}
//       one pair of sorted float64 spike-time arrays -> float
//   spikecore._core.spike_metrics.distance_matrix
//       N trains in CSR form (times, offsets) -> N x N float64 matrix
#include <cmath>
#include <string>
#include <vector>

#include <nanobind/stl/string.h>

#include "bindings.hpp"
#include "spikecore/analysis/spike_distances.hpp"
#include "spikecore/core/errors.hpp"
#include "spikecore/core/thread_pool.hpp"

namespace sa = spikecore::analysis;
using namespace nb::literals;
using spikecore_bind::new_numpy;

namespace {

using Times = nb::ndarray<const double, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using Offsets = nb::ndarray<const long long, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

void positive(double x, const char* name) {
  spikecore::require(std::isfinite(x) && x > 0, name, "must be a finite number > 0");
}

void window(double t_start, double t_end) {
  spikecore::require(std::isfinite(t_start) && std::isfinite(t_end), "t_start",
                     "t_start and t_end must be finite");
  spikecore::require(t_end > t_start, "t_end", "must be greater than t_start");
}

sa::Metric metric_of(const std::string& name) {
  if (name == "van_rossum") return sa::Metric::van_rossum;
  if (name == "victor_purpura") return sa::Metric::victor_purpura;
  if (name == "isi") return sa::Metric::isi;
  if (name == "spike") return sa::Metric::spike;
  throw spikecore::value_error("metric: unknown metric '" + name +
                               "'; valid: van_rossum, victor_purpura, isi, spike");
}

}  // namespace

void bind_spike_metrics(nb::module_ m) {
  m.def(
      "van_rossum",
      [](Times a, Times b, double tau) {
        positive(tau, "tau");
        sa::check_train(a.data(), a.size(), 0, 0, "a");
        sa::check_train(b.data(), b.size(), 0, 0, "b");
        nb::gil_scoped_release nogil;
        return sa::van_rossum(a.data(), a.size(), b.data(), b.size(), tau);
      },
      "a"_a, "b"_a, "tau"_a, "van Rossum distance sqrt(K_aa + K_bb - 2 K_ab), O(n_a + n_b).");
  m.def(
      "victor_purpura",
      [](Times a, Times b, double q) {
        spikecore::require(std::isfinite(q) && q >= 0, "q", "must be a finite number >= 0");
        sa::check_train(a.data(), a.size(), 0, 0, "a");
        sa::check_train(b.data(), b.size(), 0, 0, "b");
        nb::gil_scoped_release nogil;
        std::vector<double> scratch;
        return sa::victor_purpura(a.data(), a.size(), b.data(), b.size(), q, scratch);
      },
      "a"_a, "b"_a, "q"_a, "Victor-Purpura distance (cost q per unit time), O(n_a n_b).");
  using Windowed = double (*)(const double*, size_t, const double*, size_t, double, double);
  auto windowed = [](Windowed f) {
    return [f](Times a, Times b, double t_start, double t_end) {
      window(t_start, t_end);
      sa::check_train(a.data(), a.size(), t_start, t_end, "a");
      sa::check_train(b.data(), b.size(), t_start, t_end, "b");
      nb::gil_scoped_release nogil;
      return f(a.data(), a.size(), b.data(), b.size(), t_start, t_end);
    };
  };
  m.def("isi_distance", windowed(&sa::isi_distance), "a"_a, "b"_a, "t_start"_a, "t_end"_a,
        "ISI-distance (PySpike's edge correction).");
  m.def("spike_distance", windowed(&sa::spike_distance), "a"_a, "b"_a, "t_start"_a, "t_end"_a,
        "SPIKE-distance (PySpike's edge correction).");
  m.def(
      "distance_matrix",
      [](const std::string& metric, Times times, Offsets offsets, double param, double t_start,
         double t_end, int n_threads) {
        const sa::Metric mt = metric_of(metric);
        if (mt == sa::Metric::van_rossum) positive(param, "param");
        if (mt == sa::Metric::victor_purpura)
          spikecore::require(std::isfinite(param) && param >= 0, "param", "must be >= 0");
        const bool ranged = mt == sa::Metric::isi || mt == sa::Metric::spike;
        if (ranged) window(t_start, t_end);
        spikecore::require_threads(n_threads);
        sa::check_csr(offsets.data(), offsets.size(), times.size(), "offsets");
        const size_t n = offsets.size() - 1;
        for (size_t k = 0; k < n; ++k)
          sa::check_train(times.data() + offsets.data()[k],
                          size_t(offsets.data()[k + 1] - offsets.data()[k]), ranged ? t_start : 0,
                          ranged ? t_end : 0, "times");
        double* out = nullptr;
        auto arr = new_numpy<double>({n, n}, &out);
        {
          nb::gil_scoped_release nogil;
          sa::distance_matrix(mt, times.data(), offsets.data(), n, param, t_start, t_end, out,
                              n_threads);
        }
        return arr;
      },
      "metric"_a, "times"_a, "offsets"_a, "param"_a = 0.0, "t_start"_a = 0.0, "t_end"_a = 0.0,
      "n_threads"_a = 1, "Pairwise distance matrix over N trains in CSR form.");
}
