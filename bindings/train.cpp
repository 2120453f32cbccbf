// Bindings for the train subsystem (translation only). Owned by the train work area.
#include "bindings.hpp"

void bind_train(nb::module_ m) { (void)m; }
