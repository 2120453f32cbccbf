// Bindings for the audio subsystem (translation only). Owned by the audio work area.
#include "bindings.hpp"

void bind_audio(nb::module_ m) { (void)m; }
