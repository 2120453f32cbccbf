// C++ unit tests: spike-train distances against brute-force definitions and analytic cases.
#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "check.hpp"
#include "spikecore/analysis/spike_distances.hpp"
#include "spikecore/core/errors.hpp"

using namespace spikecore::analysis;

namespace {
std::vector<double> poisson(std::mt19937_64& g, int n, double t_end) {
  std::uniform_real_distribution<double> u(0.0, t_end);
  std::vector<double> t(n);
  for (auto& x : t) x = u(g);
  std::sort(t.begin(), t.end());
  return t;
}
double kernel_brute(const std::vector<double>& a, const std::vector<double>& b, double tau) {
  double s = 0;
  for (double x : a)
    for (double y : b) s += std::exp(-std::fabs(x - y) / tau);
  return s;
}
}  // namespace

TEST_CASE("van Rossum: O(n) sweep equals the O(n^2) definition, ties and empty trains") {
  std::mt19937_64 g(1);
  for (int k = 0; k < 20; ++k) {
    auto a = poisson(g, 5 + k * 7, 50.0), b = poisson(g, 3 + k * 5, 50.0);
    if (k == 3) b[1] = a[2];  // a tie
    for (double tau : {0.3, 2.0, 30.0}) {
      const double ref = std::sqrt(std::max(
          0.0, kernel_brute(a, a, tau) + kernel_brute(b, b, tau) - 2 * kernel_brute(a, b, tau)));
      CHECK(std::fabs(van_rossum(a.data(), a.size(), b.data(), b.size(), tau) - ref) < 1e-9);
      CHECK(std::fabs(vr_kernel_sum(a.data(), a.size(), b.data(), b.size(), tau) -
                      kernel_brute(a, b, tau)) < 1e-9);
      CHECK(std::fabs(vr_self_sum(a.data(), a.size(), tau) - kernel_brute(a, a, tau)) < 1e-9);
    }
  }
  const double one = 1.0;
  CHECK(van_rossum(nullptr, 0, nullptr, 0, 1.0) == 0.0);
  CHECK(std::fabs(van_rossum(nullptr, 0, &one, 1, 1.0) - 1.0) < 1e-15);
}

TEST_CASE("Victor-Purpura: analytic cases") {
  std::vector<double> scratch;
  const std::vector<double> a{1.0, 5.0}, b{1.5, 20.0};
  // shift 1.0 -> 1.5 (q * 0.5) and delete + insert the far pair (2)
  CHECK(std::fabs(victor_purpura(a.data(), 2, b.data(), 2, 1.0, scratch) - 2.5) < 1e-12);
  CHECK(victor_purpura(a.data(), 2, b.data(), 2, 0.0, scratch) == 0.0);  // q = 0: counts only
  CHECK(victor_purpura(a.data(), 2, nullptr, 0, 1.0, scratch) == 2.0);
}

TEST_CASE("ISI and SPIKE distance: zero for identical trains, in [0, 1], symmetric") {
  std::mt19937_64 g(2);
  auto a = poisson(g, 40, 100.0), b = poisson(g, 25, 100.0);
  CHECK(isi_distance(a.data(), a.size(), a.data(), a.size(), 0, 100) < 1e-15);
  CHECK(spike_distance(a.data(), a.size(), a.data(), a.size(), 0, 100) < 1e-15);
  const double i1 = isi_distance(a.data(), a.size(), b.data(), b.size(), 0, 100);
  const double i2 = isi_distance(b.data(), b.size(), a.data(), a.size(), 0, 100);
  const double s1 = spike_distance(a.data(), a.size(), b.data(), b.size(), 0, 100);
  const double s2 = spike_distance(b.data(), b.size(), a.data(), a.size(), 0, 100);
  CHECK(i1 > 0 && i1 < 1 && std::fabs(i1 - i2) < 1e-12);
  CHECK(s1 > 0 && s1 < 1 && std::fabs(s1 - s2) < 1e-12);
}

TEST_CASE("distance matrix: the same numbers for any thread count") {
  std::mt19937_64 g(3);
  std::vector<double> times;
  std::vector<long long> off{0};
  for (int k = 0; k < 9; ++k) {
    auto t = poisson(g, 3 * k, 40.0);
    times.insert(times.end(), t.begin(), t.end());
    off.push_back(static_cast<long long>(times.size()));
  }
  for (Metric m : {Metric::van_rossum, Metric::victor_purpura, Metric::isi, Metric::spike}) {
    std::vector<double> d1(81), d4(81);
    distance_matrix(m, times.data(), off.data(), 9, 1.0, 0.0, 40.0, d1.data(), 1);
    distance_matrix(m, times.data(), off.data(), 9, 1.0, 0.0, 40.0, d4.data(), 4);
    CHECK(d1 == d4);
  }
}

TEST_CASE("boundary checks name the argument") {
  const std::vector<double> bad{2.0, 1.0}, nan{1.0, NAN};
  CHECK_THROWS(check_train(bad.data(), 2, 0, 0, "a"));
  CHECK_THROWS(check_train(nan.data(), 2, 0, 0, "a"));
  CHECK_THROWS(check_train(bad.data(), 1, 0.0, 1.0, "a"));  // 2.0 outside [0, 1]
  try {
    check_train(bad.data(), 2, 0, 0, "times");
    CHECK(false);
  } catch (const spikecore::value_error& e) {
    CHECK(std::string(e.what()).rfind("times:", 0) == 0);
  }
}

int main() { return sc_test::run_all(); }
