// A stereo gain with one program, which takes 20 ms to load (as a reverb loads its impulse response, ZamVerb's): DPF
// gives it a "Current Program" parameter whose text is "Default" at every value, and pedalboard then reads it by
// setting it to each value. Each load is logged, a line to the file SSPROGRAMS_LOG names, so tests count them.
#include "DistrhoPlugin.hpp"
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <thread>

START_NAMESPACE_DISTRHO

class SsPrograms : public Plugin {
public:
    SsPrograms() : Plugin(1, 1, 0), fGainDb(0.0f) {}

protected:
    const char* getLabel() const override { return "ss_test_programs"; }
    const char* getMaker() const override { return "soundstage tests"; }
    const char* getLicense() const override { return "MIT"; }
    uint32_t getVersion() const override { return d_version(1, 0, 0); }
    int64_t getUniqueId() const override { return d_cconst('S', 's', 'P', 'r'); }

    void initParameter(uint32_t, Parameter& p) override {
        p.hints = kParameterIsAutomatable;
        p.name = "Gain"; p.symbol = "gain"; p.unit = "dB";
        p.ranges.min = -24.0f; p.ranges.max = 12.0f; p.ranges.def = 0.0f;
    }

    void initProgramName(uint32_t, String& name) override { name = "Default"; }

    void loadProgram(uint32_t) override {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        fGainDb = 0.0f;
        if (const char* log = std::getenv("SSPROGRAMS_LOG")) {
            if (FILE* file = std::fopen(log, "a")) {
                std::fputs("loaded\n", file);
                std::fclose(file);
            }
        }
    }

    float getParameterValue(uint32_t) const override { return fGainDb; }
    void setParameterValue(uint32_t, float value) override { fGainDb = value; }

    void run(const float** inputs, float** outputs, uint32_t frames) override {
        const float g = std::pow(10.0f, fGainDb / 20.0f);
        for (uint32_t c = 0; c < 2; ++c)
            for (uint32_t i = 0; i < frames; ++i) outputs[c][i] = g * inputs[c][i];
    }

private:
    float fGainDb;
    DISTRHO_DECLARE_NON_COPYABLE_WITH_LEAK_DETECTOR(SsPrograms)
};

Plugin* createPlugin() { return new SsPrograms(); }

END_NAMESPACE_DISTRHO
