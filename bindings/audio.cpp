// Bindings for the audio subsystem (translation only): gammatone filterbank, Spiketrum and the
// envelope encoders. Arrays cross as numpy/DLPack float32 C-contiguous CPU arrays.
#include <nanobind/stl/array.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "bindings.hpp"
#include "spikecore/audio/gammatone.hpp"
#include "spikecore/core/errors.hpp"

using namespace spikecore_bind;
namespace au = spikecore::audio;

using Arr1f = nb::ndarray<const float, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using Arr2f = nb::ndarray<const float, nb::ndim<2>, nb::c_contig, nb::device::cpu>;
using Out3f = nb::ndarray<float, nb::ndim<3>, nb::device::cpu>;

void bind_audio_encoders(nb::module_ m);

void bind_audio(nb::module_ m) {
  m.def("erb_hz", &au::erb_hz, nb::arg("f_hz"));
  m.def("erb_space", &au::erb_space, nb::arg("f_lo"), nb::arg("f_hi"), nb::arg("n"));
  m.def(
      "slaney_sections",
      [](double cf, double fs) {
        spikecore::require_positive(fs, "fs");
        spikecore::require_positive(cf, "cf");
        spikecore::require(cf < fs / 2, "cf", "must be < fs / 2");
        std::vector<double> v;
        for (const auto& s : au::slaney_sections(cf, fs))
          for (double c : {s.b0, s.b1, s.b2, 1.0, s.a1, s.a2}) v.push_back(c);
        return to_numpy(std::move(v));
      },
      nb::arg("cf"), nb::arg("fs"), "Slaney's four sections as a flat [4*6] scipy sos array");

  nb::class_<au::CochleaParams>(m, "CochleaParams")
      .def(nb::init<>())
      .def_rw("fs", &au::CochleaParams::fs)
      .def_rw("n_channels", &au::CochleaParams::n_channels)
      .def_rw("f_lo", &au::CochleaParams::f_lo)
      .def_rw("f_hi", &au::CochleaParams::f_hi)
      .def_rw("pre_emphasis", &au::CochleaParams::pre_emphasis)
      .def_rw("envelope", &au::CochleaParams::envelope)
      .def_rw("lowpass_hz", &au::CochleaParams::lowpass_hz)
      .def_rw("decimation", &au::CochleaParams::decimation)
      .def_rw("compression", &au::CochleaParams::compression)
      .def_rw("exponent", &au::CochleaParams::exponent)
      .def_rw("log_floor", &au::CochleaParams::log_floor)
      .def("validate", &au::CochleaParams::validate);

  nb::class_<au::Cochlea>(m, "Cochlea")
      .def(
          "__init__",
          [](au::Cochlea* self, const au::CochleaParams& p) { new (self) au::Cochlea(p); },
          nb::arg("params"))
      .def_prop_ro("n_channels", &au::Cochlea::n_channels)
      .def_prop_ro("centre_frequencies",
                   [](const au::Cochlea& c) { return c.centre_frequencies(); })
      .def("applied_sos", [](const au::Cochlea& c) {
        double* p;
        const size_t C = size_t(c.n_channels());
        auto a = new_numpy<double>({C, 4, 6}, &p);
        const auto secs = c.applied_sections();
        for (size_t i = 0; i < C; ++i)
          for (size_t k = 0; k < 4; ++k) {
            const auto& s = secs[i][k];
            const double row[6] = {s.b0, s.b1, s.b2, 1.0, s.a1, s.a2};
            for (size_t j = 0; j < 6; ++j) p[(i * 4 + k) * 6 + j] = row[j];
          }
        return a;
      });

  nb::class_<au::CochleaStream>(m, "CochleaStream")
      .def(
          "__init__",
          [](au::CochleaStream* self, const au::CochleaParams& p, int64_t batch, int n_threads) {
            new (self) au::CochleaStream(std::make_shared<const au::Cochlea>(p), batch, n_threads);
          },
          nb::arg("params"), nb::arg("batch") = 1, nb::arg("n_threads") = 1)
      .def_prop_ro("batch", &au::CochleaStream::batch)
      .def_prop_ro("samples_seen", &au::CochleaStream::samples_seen)
      .def("reset", &au::CochleaStream::reset)
      .def("output_length", &au::CochleaStream::output_length, nb::arg("n"),
           "Output rows produced by the next chunk of n samples")
      .def(
          "process",
          [](au::CochleaStream& s, Arr2f x, Out3f out) {
            if (int64_t(x.shape(0)) != s.batch())
              throw spikecore::value_error("x: expected " + std::to_string(s.batch()) +
                                           " rows (the stream's batch), got " +
                                           std::to_string(x.shape(0)));
            const int64_t T = int64_t(x.shape(1));
            const int64_t rows = s.output_length(T);
            const int64_t C = s.bank().n_channels();
            if (int64_t(out.shape(0)) != s.batch() || int64_t(out.shape(1)) != rows ||
                int64_t(out.shape(2)) != C)
              throw spikecore::value_error("out: expected shape (" + std::to_string(s.batch()) +
                                           ", " + std::to_string(rows) + ", " + std::to_string(C) +
                                           "), got (" + std::to_string(out.shape(0)) + ", " +
                                           std::to_string(out.shape(1)) + ", " +
                                           std::to_string(out.shape(2)) + ")");
            // Rows must be contiguous [rows][C]; batch items may lie apart (a block of a longer
            // output), but not overlap.
            if ((C > 1 && out.stride(2) != 1) || (rows > 1 && out.stride(1) != C) ||
                (s.batch() > 1 && out.stride(0) < rows * C))
              throw spikecore::value_error("out: each item's [T_out, C] rows must be C-contiguous");
            {
              nb::gil_scoped_release r;
              s.process(x.data(), T, out.data(), s.batch() > 1 ? int64_t(out.stride(0)) : -1);
            }
          },
          nb::arg("x"), nb::arg("out"),
          "x: [batch, T] float32; writes out: [batch, T_out, C] float32 (every element)");

  m.def(
      "empty_output",
      [](size_t batch, size_t rows, size_t channels) {
        float* p;
        return new_numpy_uninit<float>({batch, rows, channels}, &p);
      },
      nb::arg("batch"), nb::arg("rows"), nb::arg("channels"),
      "An uninitialised float32 [batch, rows, channels] array (large ones from the core's buffer "
      "pool: 2 MiB-aligned where whole huge pages, reused after it is freed)");

  bind_audio_encoders(m);
}
