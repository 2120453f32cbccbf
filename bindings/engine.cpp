// Bindings for the engine subsystem (translation only). Owned by the engine work area.
#include "bindings.hpp"

void bind_engine(nb::module_ m) { (void)m; }
