// soundstage's native engine (engine.hpp) as a WebAssembly module, for the web page `soundstage export-plugin
// --format web` writes. Built by clang for wasm32-wasi as a reactor (no main; `_initialize` runs the constructors);
// the page's AudioWorklet copies the baked program into the module's memory, opens it, prepares it at the audio
// context's rate, and then calls ssx_process once per render quantum on the buffers ssx_buffers points to.
//
// One engine per module instance: the page instantiates one module per AudioWorkletNode. The same real-time rules
// as the plugin: everything is allocated by ssx_prepare; ssx_process, ssx_set and ssx_bypass allocate nothing.
#include "engine.hpp"

#include <cstdlib>

#if defined(__wasm__)
#define SSX_EXPORT(name) extern "C" __attribute__((export_name(#name)))
#else  // the same calls in a native build (the tests compare the two)
#define SSX_EXPORT(name) extern "C"
#endif

namespace {

ssx::Engine engine;
std::vector<float> buffers;  // the inputs' channels, then the outputs', `frames` samples each
std::vector<const float*> inputs;
std::vector<float*> outputs;
uint32_t capacity = 0;

}  // namespace

// Memory for the program blob (the engine reads it in place: keep it for the module's life).
SSX_EXPORT(ssx_alloc) uint8_t* ssx_alloc(uint32_t bytes) { return static_cast<uint8_t*>(std::malloc(bytes)); }

// 1 if the blob is a program this engine reads, else 0.
SSX_EXPORT(ssx_open) int ssx_open(const uint8_t* data, uint32_t size) { return engine.open(data, size) ? 1 : 0; }

// Ready to run at `rate` in blocks of at most `frames`; 1 if a baked chain plays there (else the engine plays silence).
SSX_EXPORT(ssx_prepare) int ssx_prepare(double rate, uint32_t frames) {
    const bool plays = engine.prepare(rate);
    capacity = frames;
    buffers.assign(size_t(engine.inputs() + engine.outputs()) * frames, 0.0f);
    inputs.clear();
    outputs.clear();
    for (int c = 0; c < engine.inputs(); ++c) inputs.push_back(buffers.data() + size_t(c) * frames);
    for (int c = 0; c < engine.outputs(); ++c) outputs.push_back(buffers.data() + size_t(engine.inputs() + c) * frames);
    return plays ? 1 : 0;
}

SSX_EXPORT(ssx_buffers) float* ssx_buffers() { return buffers.data(); }
SSX_EXPORT(ssx_inputs) int ssx_inputs() { return engine.inputs(); }
SSX_EXPORT(ssx_outputs) int ssx_outputs() { return engine.outputs(); }
SSX_EXPORT(ssx_latency) int ssx_latency() { return engine.latency(); }
SSX_EXPORT(ssx_set) void ssx_set(uint32_t index, double value) {
    if (index < engine.parameters().size()) engine.set(index, value);
}
SSX_EXPORT(ssx_bypass) void ssx_bypass(int on) { engine.bypass(on != 0); }
SSX_EXPORT(ssx_reset) void ssx_reset() { engine.reset(); }

// Run `frames` samples (at most the prepared block) from the input buffers into the output buffers.
SSX_EXPORT(ssx_process) void ssx_process(uint32_t frames) {
    engine.process(inputs.data(), outputs.data(), std::min(frames, capacity));
}
