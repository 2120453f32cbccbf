// Encoder bindings (Spiketrum, send-on-delta, rate), kept apart from the filterbank.
#include "bindings.hpp"
void bind_audio_encoders(nb::module_ m) { (void)m; }
