#pragma once
// Minimal test harness for the C++ unit tests (no external framework needed at build time).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

namespace sc_test {
struct Case {
  const char* name;
  std::function<void()> fn;
};
inline std::vector<Case>& cases() {
  static std::vector<Case> c;
  return c;
}
inline int& failures() {
  static int f = 0;
  return f;
}
struct Register {
  Register(const char* n, std::function<void()> f) { cases().push_back({n, std::move(f)}); }
};
inline int run_all() {
  for (auto& c : cases()) {
    const int before = failures();
    try {
      c.fn();
    } catch (const std::exception& e) {
      std::printf("  exception in %s: %s\n", c.name, e.what());
      ++failures();
    }
    std::printf("%s %s\n", failures() == before ? "PASS" : "FAIL", c.name);
  }
  std::printf("%d passed, %d failed\n", int(cases().size()) - failures(), failures());
  return failures() ? 1 : 0;
}
}  // namespace sc_test

#define SC_CAT2(a, b) a##b
#define SC_CAT(a, b) SC_CAT2(a, b)
#define TEST_CASE(name)                                                                   \
  static void SC_CAT(test_fn_, __LINE__)();                                               \
  static sc_test::Register SC_CAT(test_reg_, __LINE__)(name, SC_CAT(test_fn_, __LINE__)); \
  static void SC_CAT(test_fn_, __LINE__)()
#define CHECK(cond)                                                          \
  do {                                                                       \
    if (!(cond)) {                                                           \
      std::printf("  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
      ++sc_test::failures();                                                 \
    }                                                                        \
  } while (0)
#define CHECK_THROWS(expr)                                                   \
  do {                                                                       \
    bool thrown_ = false;                                                    \
    try {                                                                    \
      expr;                                                                  \
    } catch (...) {                                                          \
      thrown_ = true;                                                        \
    }                                                                        \
    if (!thrown_) {                                                          \
      std::printf("  %s:%d: %s did not throw\n", __FILE__, __LINE__, #expr); \
      ++sc_test::failures();                                                 \
    }                                                                        \
  } while (0)
#define TEST_MAIN() \
  int main() { return sc_test::run_all(); }
