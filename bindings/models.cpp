// Bindings for the models subsystem (translation only). Owned by the models work area.
#include "bindings.hpp"

void bind_models(nb::module_ m) { (void)m; }
