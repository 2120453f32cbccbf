// Encoder bindings (Spiketrum, send-on-delta, rate): translation only.
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/vector.h>

#include "bindings.hpp"
#include "spikecore/audio/encoders.hpp"
#include "spikecore/audio/spiketrum.hpp"
#include "spikecore/core/errors.hpp"

using namespace spikecore_bind;
namespace au = spikecore::audio;

namespace {
using Arr1f = nb::ndarray<const float, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using Arr2f = nb::ndarray<const float, nb::ndim<2>, nb::c_contig, nb::device::cpu>;
using Arr1i64 = nb::ndarray<const int64_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using Arr1i32 = nb::ndarray<const int32_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

nb::tuple spikes_to_numpy(std::vector<au::SpikeEvent>&& ev) {
  std::vector<int64_t> t(ev.size());
  std::vector<int32_t> k(ev.size());
  std::vector<float> a(ev.size());
  for (size_t i = 0; i < ev.size(); ++i) {
    t[i] = ev[i].t;
    k[i] = ev[i].kernel;
    a[i] = ev[i].amp;
  }
  return nb::make_tuple(to_numpy(std::move(t)), to_numpy(std::move(k)), to_numpy(std::move(a)));
}

nb::tuple channel_events_to_numpy(std::vector<au::ChannelEvent>&& ev) {
  std::vector<int64_t> t(ev.size());
  std::vector<int32_t> c(ev.size()), l(ev.size());
  for (size_t i = 0; i < ev.size(); ++i) {
    t[i] = ev[i].t;
    c[i] = ev[i].channel;
    l[i] = ev[i].level;
  }
  return nb::make_tuple(to_numpy(std::move(t)), to_numpy(std::move(c)), to_numpy(std::move(l)));
}
}  // namespace

void bind_audio_encoders(nb::module_ m) {
  nb::class_<au::GammatoneDictionary>(m, "GammatoneDictionary")
      .def(nb::init<double, int, double, double, double>(), nb::arg("fs"), nb::arg("n_kernels"),
           nb::arg("f_lo"), nb::arg("f_hi"), nb::arg("tail_db") = 60.0,
           nb::call_guard<nb::gil_scoped_release>())
      .def_prop_ro("size", &au::GammatoneDictionary::size)
      .def_prop_ro("fs", &au::GammatoneDictionary::fs)
      .def_prop_ro("max_length", &au::GammatoneDictionary::max_length)
      .def_prop_ro("centre_frequencies",
                   [](const au::GammatoneDictionary& d) { return d.centre_frequencies(); })
      .def("length", &au::GammatoneDictionary::length, nb::arg("m"))
      .def(
          "kernel",
          [](const au::GammatoneDictionary& d, int mi) {
            spikecore::require_index(mi, d.size(), "m");
            std::vector<float> v(d.kernel(mi), d.kernel(mi) + d.length(mi));
            return to_numpy(std::move(v));
          },
          nb::arg("m"))
      .def(
          "decode",
          [](const au::GammatoneDictionary& d, Arr1i64 t, Arr1i32 k, Arr1f a, int64_t n) {
            const size_t ne = t.shape(0);
            if (k.shape(0) != ne) throw spikecore::value_error("kernel: length differs from t");
            if (a.shape(0) != ne) throw spikecore::value_error("amp: length differs from t");
            spikecore::require(n >= 0, "n_samples", "must be >= 0");
            std::vector<au::SpikeEvent> ev(ne);
            for (size_t i = 0; i < ne; ++i)
              ev[i] = au::SpikeEvent{t.data()[i], k.data()[i], a.data()[i]};
            std::vector<float> out(static_cast<size_t>(n));
            {
              nb::gil_scoped_release r;
              au::spiketrum_decode(d, ev.data(), int64_t(ne), out.data(), n);
            }
            return to_numpy(std::move(out));
          },
          nb::arg("t"), nb::arg("kernel"), nb::arg("amp"), nb::arg("n_samples"));

  // push / flush with signals=true poll Python's signal handlers (Ctrl-C) while encoding; a
  // handler's exception (KeyboardInterrupt) propagates with the encoder restored.
  auto with_signals = [](au::SpiketrumEncoder& e, bool signals, auto&& body) {
    if (signals)
      e.set_interrupt([] {
        nb::gil_scoped_acquire g;
        return PyErr_CheckSignals() != 0;
      });
    try {
      nb::gil_scoped_release r;
      body();
    } catch (const au::interrupted&) {
      e.set_interrupt(nullptr);
      throw nb::python_error();
    } catch (...) {
      e.set_interrupt(nullptr);
      throw;
    }
    e.set_interrupt(nullptr);
  };
  nb::class_<au::SpiketrumEncoder>(m, "SpiketrumEncoder")
      .def(nb::init<std::shared_ptr<const au::GammatoneDictionary>, double, int64_t, bool>(),
           nb::arg("dictionary"), nb::arg("rate_hz"), nb::arg("frame_length") = 0,
           nb::arg("positive_only") = false)
      .def_prop_ro("samples_seen", &au::SpiketrumEncoder::samples_seen)
      .def_prop_ro("spikes_emitted", &au::SpiketrumEncoder::spikes_emitted)
      .def(
          "push",
          [with_signals](au::SpiketrumEncoder& e, Arr1f x, bool signals) {
            std::vector<au::SpikeEvent> ev;
            with_signals(e, signals, [&] { e.push(x.data(), int64_t(x.shape(0)), ev); });
            return spikes_to_numpy(std::move(ev));
          },
          nb::arg("x"), nb::arg("signals") = false,
          "append samples; returns (t, kernel, amp) of the frames completed")
      .def(
          "flush",
          [with_signals](au::SpiketrumEncoder& e, bool signals) {
            std::vector<au::SpikeEvent> ev;
            with_signals(e, signals, [&] { e.flush(ev); });
            return spikes_to_numpy(std::move(ev));
          },
          nb::arg("signals") = false);

  nb::class_<au::SendOnDelta>(m, "SendOnDelta")
      .def(nb::init<int, std::vector<float>>(), nb::arg("n_channels"), nb::arg("delta"))
      .def("reset", &au::SendOnDelta::reset)
      .def_prop_ro("steps_seen", &au::SendOnDelta::steps_seen)
      .def(
          "process",
          [](au::SendOnDelta& s, Arr2f x) {
            if (int64_t(x.shape(1)) != s.n_channels())
              throw spikecore::value_error("x: expected " + std::to_string(s.n_channels()) +
                                           " channels, got " + std::to_string(x.shape(1)));
            std::vector<au::ChannelEvent> ev;
            {
              nb::gil_scoped_release r;
              s.process(x.data(), int64_t(x.shape(0)), ev);
            }
            return channel_events_to_numpy(std::move(ev));
          },
          nb::arg("x"));
  m.def(
      "send_on_delta_decode",
      [](Arr1i64 t, Arr1i32 c, Arr1i32 l, Arr1f delta, int C, int64_t T) {
        const size_t ne = t.shape(0);
        if (c.shape(0) != ne || l.shape(0) != ne)
          throw spikecore::value_error("channel: event arrays differ in length");
        spikecore::require(C >= 1, "n_channels", "must be >= 1");
        spikecore::require(T >= 0, "n_steps", "must be >= 0");
        std::vector<au::ChannelEvent> ev(ne);
        for (size_t i = 0; i < ne; ++i)
          ev[i] = au::ChannelEvent{t.data()[i], c.data()[i], l.data()[i]};
        float* p;
        auto out = new_numpy<float>({size_t(T), size_t(C)}, &p);
        au::send_on_delta_decode(ev.data(), int64_t(ne), delta.data(), int(delta.shape(0)), C, p,
                                 T);
        return out;
      },
      nb::arg("t"), nb::arg("channel"), nb::arg("level"), nb::arg("delta"), nb::arg("n_channels"),
      nb::arg("n_steps"));

  nb::class_<au::RateCoder>(m, "RateCoder")
      .def(nb::init<int, double, uint64_t>(), nb::arg("n_channels"), nb::arg("gain"),
           nb::arg("seed"))
      .def("reset", &au::RateCoder::reset)
      .def(
          "process",
          [](au::RateCoder& s, Arr2f x) {
            std::vector<au::ChannelEvent> ev;
            {
              nb::gil_scoped_release r;
              s.process(x.data(), int64_t(x.shape(0)), ev);
            }
            return channel_events_to_numpy(std::move(ev));
          },
          nb::arg("x"));
}
