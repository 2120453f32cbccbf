#pragma once
// Cochlear front end: an ERB-spaced 4th-order gammatone filterbank (Slaney 1993: four cascaded
// biquads per channel), with optional pre-emphasis and an inner-hair-cell envelope stage
// (half-wave rectification, two-pole low-pass, decimation to a frame rate, compression).
//
// Layout: channels are the fastest axis everywhere (structure of arrays), so that the inner loop
// runs over channels and vectorises; output is [T, C] per batch item. Work is split over
// (batch item, channel group) pairs on the thread pool; every output value is computed by exactly
// one thread in a fixed order, so results do not depend on the thread count.
//
// Streaming: CochleaState keeps every filter's memory and the sample counter, so processing a
// signal chunk by chunk gives the same output as one call on the whole signal (bitwise).
#include <array>
#include <cstdint>
#include <memory>
#include <vector>

namespace spikecore {
class ThreadPool;
namespace audio {

// Equivalent rectangular bandwidth (Glasberg & Moore 1990) in Hz: 24.7 (4.37 f / 1000 + 1).
double erb_hz(double f_hz);
// ERB-number scale E(f) = 21.4 log10(1 + 0.00437 f) and its inverse.
double hz_to_erb_number(double f_hz);
double erb_number_to_hz(double e);
// n centre frequencies equally spaced on the ERB-number scale from f_lo to f_hi (inclusive),
// ascending. n == 1 gives f_lo.
std::vector<double> erb_space(double f_lo, double f_hi, int n);

// One biquad: y = b0 x + b1 x[-1] + b2 x[-2] - a1 y[-1] - a2 y[-2] (float64 design values).
struct Biquad {
  double b0, b1, b2, a1, a2;
};
// Slaney's (1993) four sections for centre frequency cf at sampling rate fs, gain normalised to 1
// at cf (the gain is folded into the first section, as in Slaney's MakeERBFilters).
std::array<Biquad, 4> slaney_sections(double cf, double fs);

// User-facing parameters (units in the comments). validate() throws value_error naming the field.
struct CochleaParams {
  double fs = 16000.0;        // sampling rate, Hz
  int n_channels = 64;        // number of gammatone channels
  double f_lo = 50.0;         // lowest centre frequency, Hz
  double f_hi = 7000.0;       // highest centre frequency, Hz (< fs / 2)
  double pre_emphasis = 0.0;  // alpha in y = x - alpha x[-1]; 0 = off; in [0, 1)
  bool envelope = false;      // inner-hair-cell envelope stage on/off
  double lowpass_hz = 0.0;    // envelope low-pass cutoff, Hz (two one-pole stages); 0 = none
  int decimation = 1;         // keep every decimation-th envelope sample (>= 1)
  int compression = 0;        // 0 none, 1 power (y^exponent), 2 log (log(1 + y / floor))
  double exponent = 0.3;      // power-law exponent (compression == 1)
  double log_floor = 1e-3;    // floor in log(1 + y / floor) (compression == 2)
  void validate() const;
};

// Per-batch-item streaming state.
struct CochleaState {
  std::vector<float> p;   // [5][Cp] previous stage outputs (stage 0 = scaled input)
  std::vector<float> q;   // [5][Cp] stage outputs two samples back
  std::vector<float> lp;  // [2][Cp] envelope low-pass states
  float x_prev = 0.f;     // pre-emphasis memory
  int64_t n_seen = 0;     // samples consumed so far (drives the decimation phase)
};

class Cochlea {
 public:
  explicit Cochlea(const CochleaParams& p);
  const CochleaParams& params() const { return p_; }
  int n_channels() const { return p_.n_channels; }
  const std::vector<double>& centre_frequencies() const { return cf_; }
  // The four sections per channel as applied (float32 values, as float64): [C][4] Biquads.
  std::vector<std::array<Biquad, 4>> applied_sections() const;
  CochleaState initial_state() const;
  // Number of output rows produced for a chunk of n samples, given the samples seen before it.
  int64_t output_length(int64_t n_seen, int64_t n) const;
  // x: [B][T] float32 (finite, checked by caller), out: [B][output_length][C], batch item b's
  // rows starting at out + b * out_stride (out_stride < 0: output_length * C, i.e. contiguous;
  // otherwise >= output_length * C, so a block of a larger output can be written in place).
  // states: B states (updated). pool may be null (single thread).
  void process(const float* x, int64_t B, int64_t T, float* out, CochleaState* states,
               ThreadPool* pool, int64_t out_stride = -1) const;

 private:
  // Channel group g over samples x[0..T) (samples n0.. of the stream; out holds the rows produced
  // since sample n_call; xprev is the sample before x[0]); stream: non-temporal output stores.
  void run_group(const float* x, int64_t T, float* out, CochleaState& s, int g, int64_t n_call,
                 int64_t n0, float xprev, bool stream) const;
  CochleaParams p_;
  std::vector<double> cf_;
  int cp_ = 0;  // channel count padded to the group width
  // float32 coefficients, [Cp] each (SoA): input gain, c1 per section, a1, a2
  std::vector<float> gain_, c1_[4], a1_, a2_;
  float lp_a_ = 0.f;  // one-pole low-pass coefficient exp(-2 pi fc / fs)
};

// A streaming session: a filterbank, one state per batch item, and a thread team.
class CochleaStream {
 public:
  CochleaStream(std::shared_ptr<const Cochlea> bank, int64_t batch, int n_threads);
  ~CochleaStream();
  const Cochlea& bank() const { return *bank_; }
  int64_t batch() const { return int64_t(states_.size()); }
  int64_t samples_seen() const { return states_.empty() ? 0 : states_[0].n_seen; }
  int64_t output_length(int64_t n) const { return bank_->output_length(samples_seen(), n); }
  // x: [batch][T]; out: [batch][output_length(T)][C] (batch stride out_stride, as in
  // Cochlea::process). Checks that x is finite.
  void process(const float* x, int64_t T, float* out, int64_t out_stride = -1);
  void reset();

 private:
  std::shared_ptr<const Cochlea> bank_;
  std::vector<CochleaState> states_;
  std::unique_ptr<ThreadPool> pool_;
};

// Group width (channels per vector register).
#if defined(__AVX512F__)
constexpr int kGroup = 16;
#else
constexpr int kGroup = 8;
#endif

}  // namespace audio
}  // namespace spikecore
