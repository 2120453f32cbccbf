#pragma once
// Errors thrown by the core. Every message starts with the name of the bad argument.
// The bindings translate value_error -> ValueError, type_error -> TypeError,
// index_error -> IndexError. Validate at the boundary, never inside hot loops.
// Arguments are string_views: a check that passes builds no string (callers checking every element
// of an array must not build messages eagerly either: test first, then format).
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace spikecore {

struct value_error : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};
struct type_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct index_error : std::out_of_range {
  using std::out_of_range::out_of_range;
};

inline std::string message(std::string_view arg, std::string_view what) {
  std::string m(arg);
  m += ": ";
  m += what;
  return m;
}

inline void require(bool ok, std::string_view arg, std::string_view what) {
  if (!ok) throw value_error(message(arg, what));
}

inline void require_finite(double x, std::string_view arg) {
  if (!std::isfinite(x))
    throw value_error(message(arg, "must be finite, got " + std::to_string(x)));
}

inline void require_positive(double x, std::string_view arg) {
  require_finite(x, arg);
  if (!(x > 0)) throw value_error(message(arg, "must be > 0, got " + std::to_string(x)));
}

inline void require_nonnegative(double x, std::string_view arg) {
  require_finite(x, arg);
  if (!(x >= 0)) throw value_error(message(arg, "must be >= 0, got " + std::to_string(x)));
}

inline void require_probability(double p, std::string_view arg) {
  require_finite(p, arg);
  if (!(p >= 0 && p <= 1))
    throw value_error(message(arg, "must be in [0, 1], got " + std::to_string(p)));
}

inline void require_index(int64_t i, int64_t n, std::string_view arg) {
  if (i < 0 || i >= n)
    throw index_error(message(
        arg, "index " + std::to_string(i) + " out of range [0, " + std::to_string(n) + ")"));
}

}  // namespace spikecore
