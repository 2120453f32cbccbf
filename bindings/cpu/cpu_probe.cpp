// spikecore._cpu: which x86-64 features this CPU and OS provide, read with CPUID/XGETBV. It is
// compiled for the oldest x86-64 (no -march flag), so that it loads on any CPU and the Python
// loader (spikecore/_isa.py) can refuse, with a message, an extension variant the CPU cannot run
// instead of dying with an illegal instruction. Plain CPython API: no nanobind, no core library.
//
// _cpu.features() -> dict[str, bool]  (empty on non-x86 machines)
// _cpu.BUILT: the extension variants this build installed, ";"-separated ("native" for a
//             SPIKECORE_NATIVE build). Set by CMake.
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64)
#define SPIKECORE_X86 1
#if defined(_MSC_VER)
#include <immintrin.h>
#include <intrin.h>
#else
#include <cpuid.h>
#endif
#endif

#ifndef SPIKECORE_BUILT_VARIANTS
#define SPIKECORE_BUILT_VARIANTS "baseline"
#endif

namespace {

#ifdef SPIKECORE_X86
void cpuid(unsigned leaf, unsigned sub, unsigned r[4]) {
#if defined(_MSC_VER)
  int x[4];
  __cpuidex(x, static_cast<int>(leaf), static_cast<int>(sub));
  for (int i = 0; i < 4; ++i) r[i] = static_cast<unsigned>(x[i]);
#else
  __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
#endif
}

unsigned long long xgetbv0() {
#if defined(_MSC_VER)
  return _xgetbv(0);
#else
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<unsigned long long>(hi) << 32) | lo;
#endif
}

int add(PyObject* d, const char* name, bool on) {
  return PyDict_SetItemString(d, name, on ? Py_True : Py_False);
}
#endif

PyObject* features(PyObject*, PyObject*) {
  PyObject* d = PyDict_New();
  if (!d) return nullptr;
#ifdef SPIKECORE_X86
  unsigned r0[4], r1[4] = {0, 0, 0, 0}, r7[4] = {0, 0, 0, 0}, r71[4] = {0, 0, 0, 0}, rx0[4],
                  rx1[4] = {0, 0, 0, 0};
  cpuid(0, 0, r0);
  const unsigned max_leaf = r0[0];
  if (max_leaf >= 1) cpuid(1, 0, r1);
  if (max_leaf >= 7) cpuid(7, 0, r7);
  if (max_leaf >= 7 && r7[0] >= 1) cpuid(7, 1, r71);  // leaf 7's subleaf count is in EAX
  cpuid(0x80000000u, 0, rx0);
  if (rx0[0] >= 0x80000001u) cpuid(0x80000001u, 0, rx1);
  const unsigned c1 = r1[2], d1 = r1[3], b7 = r7[1], d7 = r7[3], a71 = r71[0], cx1 = rx1[2];
  auto bit = [](unsigned reg, int b) { return ((reg >> b) & 1u) != 0; };
  // The OS must save the wide registers on a context switch (XCR0), else AVX traps.
  const bool osxsave = bit(c1, 27);
  const unsigned long long xcr0 = osxsave ? xgetbv0() : 0;
  const bool os_avx = (xcr0 & 0x6) == 0x6;          // XMM | YMM state
  const bool os_avx512 = (xcr0 & 0xe6) == 0xe6;     // + opmask, ZMM_Hi256, Hi16_ZMM state
  const bool os_amx = (xcr0 & 0x60000) == 0x60000;  // XTILECFG | XTILEDATA state
  struct F {
    const char* name;
    bool on;
  } const fs[] = {
      {"sse2", bit(d1, 26)},
      {"sse3", bit(c1, 0)},
      {"ssse3", bit(c1, 9)},
      {"sse4_1", bit(c1, 19)},
      {"sse4_2", bit(c1, 20)},
      {"popcnt", bit(c1, 23)},
      {"cx16", bit(c1, 13)},
      {"lahf_lm", bit(cx1, 0)},
      {"avx", bit(c1, 28) && os_avx},
      {"avx2", bit(b7, 5) && os_avx},
      {"fma", bit(c1, 12) && os_avx},
      {"f16c", bit(c1, 29) && os_avx},
      {"bmi1", bit(b7, 3)},
      {"bmi2", bit(b7, 8)},
      {"lzcnt", bit(cx1, 5)},
      {"movbe", bit(c1, 22)},
      {"avx512f", bit(b7, 16) && os_avx512},
      {"avx512dq", bit(b7, 17) && os_avx512},
      {"avx512cd", bit(b7, 28) && os_avx512},
      {"avx512bw", bit(b7, 30) && os_avx512},
      {"avx512vl", bit(b7, 31) && os_avx512},
      // bf16 dot products (spikecore.nn's matmul precision 'bf16' needs one of them)
      {"avx512_bf16", bit(a71, 5) && os_avx512},
      {"amx_bf16", bit(d7, 22) && os_amx},
  };
  for (const F& f : fs) {
    if (add(d, f.name, f.on) < 0) {
      Py_DECREF(d);
      return nullptr;
    }
  }
#endif
  return d;
}

PyMethodDef methods[] = {
    {"features", features, METH_NOARGS,
     "features() -> dict[str, bool]: x86-64 features usable on this CPU and OS (CPUID, XGETBV); "
     "empty on other architectures."},
    {nullptr, nullptr, 0, nullptr}};

PyModuleDef module = {PyModuleDef_HEAD_INIT,
                      "_cpu",
                      "CPU feature probe for the ISA variants of spikecore._core (see "
                      "spikecore._isa).",
                      -1,
                      methods,
                      nullptr,
                      nullptr,
                      nullptr,
                      nullptr};

}  // namespace

extern "C" PyMODINIT_FUNC PyInit__cpu(void) {
  PyObject* m = PyModule_Create(&module);
  if (!m) return nullptr;
  if (PyModule_AddStringConstant(m, "BUILT", SPIKECORE_BUILT_VARIANTS) < 0) {
    Py_DECREF(m);
    return nullptr;
  }
  return m;
}
