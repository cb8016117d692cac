// The engine (engine.hpp) behind one pointer, for the plugin's own source (plugin.cpp): it includes this header only,
// so the engine, most of a build's compile time, is compiled once per export (engine.cpp) and linked into every
// format, and a compiler cache (ccache) keeps its object from one export to the next.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ssx {

// ---------------------------------------------------------------------------------
// The plugin's parameters (the chain's knobs) and their current values.
struct ParameterInfo {
    std::string name, symbol, unit;
    float minimum = 0, maximum = 1, fallback = 0;
    bool boolean = false;
    bool logarithmic = false;  // the knob travels as a frequency or a time does (DPF's hint: LV2 hosts honor it)
    std::vector<std::string> choices;  // a choice's names, its value their index (LadderFilter's mode)
};

class Engine;

// ssx::Engine's calls, one for one (engine.hpp says what each does).
class EngineHandle {
public:
    EngineHandle();
    ~EngineHandle();
    EngineHandle(const EngineHandle&) = delete;
    EngineHandle& operator=(const EngineHandle&) = delete;

    bool open(const uint8_t* data, size_t size);
    const std::vector<ParameterInfo>& parameters() const;
    const std::string& chain_text() const;
    int latency() const;
    double value(size_t index) const;
    bool prepare(double rate);
    void bypass(bool on);
    bool bypassed() const;
    void reset();
    void set(size_t index, double value);
    void process(const float* const* in, float* const* out, uint32_t frames);

private:
    std::unique_ptr<Engine> engine_;
};

}  // namespace ssx
