// A stereo test effect that crashes its host, as a faulty third-party plugin does: after "Crash after" seconds of
// audio it writes through a null pointer (SIGSEGV) or aborts (SIGABRT, a failed assertion); with the environment
// variable SSCRASH_ON_LOAD set it crashes as it is made. Until then it passes its input through. Used by tests/ to
// check what soundstage says and leaves when a plugin takes the process down.
#include "DistrhoPlugin.hpp"
#include <cstdlib>

START_NAMESPACE_DISTRHO

static void crash(bool abortInstead) {
    if (abortInstead)
        std::abort();
    *static_cast<volatile int*>(nullptr) = 1;
}

class SsCrash : public Plugin {
public:
    enum { kAfter = 0, kAbort, kParamCount };

    SsCrash() : Plugin(kParamCount, 0, 0), fAfter(-1.0f), fAbort(0.0f), fDone(0) {
        if (std::getenv("SSCRASH_ON_LOAD") != nullptr)
            crash(false);
    }

protected:
    const char* getLabel() const override { return "ss_test_crash"; }
    const char* getMaker() const override { return "soundstage tests"; }
    const char* getLicense() const override { return "MIT"; }
    uint32_t getVersion() const override { return d_version(1, 0, 0); }
    int64_t getUniqueId() const override { return d_cconst('S', 's', 'C', 'r'); }

    void initParameter(uint32_t index, Parameter& p) override {
        p.hints = kParameterIsAutomatable;
        switch (index) {
        case kAfter:
            p.name = "Crash after"; p.symbol = "crash_after"; p.unit = "s";
            p.ranges.min = -1.0f; p.ranges.max = 3600.0f; p.ranges.def = -1.0f;  // -1: never
            break;
        case kAbort:
            p.hints |= kParameterIsBoolean | kParameterIsInteger;
            p.name = "Abort"; p.symbol = "abort"; p.unit = "";
            p.ranges.min = 0.0f; p.ranges.max = 1.0f; p.ranges.def = 0.0f;
            break;
        }
    }

    float getParameterValue(uint32_t index) const override { return index == kAfter ? fAfter : fAbort; }

    void setParameterValue(uint32_t index, float value) override {
        if (index == kAfter) fAfter = value; else fAbort = value;
    }

    void activate() override { fDone = 0; }

    void run(const float** inputs, float** outputs, uint32_t frames) override {
        if (fAfter >= 0.0f && double(fDone) >= double(fAfter) * getSampleRate())
            crash(fAbort >= 0.5f);
        fDone += frames;
        for (uint32_t c = 0; c < 2; ++c)
            for (uint32_t i = 0; i < frames; ++i)
                outputs[c][i] = inputs[c][i];
    }

private:
    float fAfter, fAbort;
    uint64_t fDone;
    DISTRHO_DECLARE_NON_COPYABLE_WITH_LEAK_DETECTOR(SsCrash)
};

Plugin* createPlugin() { return new SsCrash(); }

END_NAMESPACE_DISTRHO
