// A stereo test effect that crashes its host, as a faulty third-party plugin does: after "Crash after" seconds of
// audio it writes through a null pointer (SIGSEGV), aborts (SIGABRT, a failed assertion), hangs (waits for ever, as a
// plugin waiting for a message loop the host does not run) or puts out NaN. With the environment variable
// SSCRASH_ON_LOAD set it crashes as it is made (SSCRASH_ON_LOAD=hang: it waits for ever there, as a license check
// waiting for a window); with SSCRASH_ON_STATE set it crashes (=hang: waits for ever) as "Crash after" is set to
// 1234.5 (a saved state holding that value); with SSCRASH_STDOUT set it prints on standard output as it is made and
// runs. Until then it passes its input through. Used by tests/ to check what soundstage says and leaves when a
// plugin takes the process down or never returns.
#include "DistrhoPlugin.hpp"
#include <chrono>
#include <cstdio>
#include <cmath>
#include <cstdlib>
#include <string>
#include <thread>

START_NAMESPACE_DISTRHO

static void crash(int how) {
    if (how == 1)
        std::abort();
    if (how == 2)
        for (;;)
            std::this_thread::sleep_for(std::chrono::seconds(1));
    *static_cast<volatile int*>(nullptr) = 1;
}

class SsCrash : public Plugin {
public:
    enum { kAfter = 0, kAbort, kHang, kNan, kParamCount };

    SsCrash() : Plugin(kParamCount, 0, 0), fAfter(-1.0f), fAbort(0.0f), fHang(0.0f), fNan(0.0f), fDone(0) {
        if (const char* onLoad = std::getenv("SSCRASH_ON_LOAD"))  // "hang": waits for ever, as a license check may
            crash(std::string(onLoad) == "hang" ? 2 : 0);
        fChatty = std::getenv("SSCRASH_STDOUT") != nullptr;  // prints on standard output, as some plugins do
        if (fChatty)
            std::printf("SS Test Crash: made\n"), std::fflush(stdout);
    }

protected:
    const char* getLabel() const override { return "ss_test_crash"; }
    const char* getMaker() const override { return "soundstage tests"; }
    const char* getLicense() const override { return "MIT"; }
    uint32_t getVersion() const override { return d_version(1, 0, 0); }
    int64_t getUniqueId() const override { return d_cconst('S', 's', 'C', 'r'); }

    static void switchParameter(Parameter& p, const char* name, const char* symbol) {  // off (0) or on (1)
        p.hints |= kParameterIsBoolean | kParameterIsInteger;
        p.name = name; p.symbol = symbol; p.unit = "";
        p.ranges.min = 0.0f; p.ranges.max = 1.0f; p.ranges.def = 0.0f;
    }

    void initParameter(uint32_t index, Parameter& p) override {
        p.hints = kParameterIsAutomatable;
        switch (index) {
        case kAfter:
            p.name = "Crash after"; p.symbol = "crash_after"; p.unit = "s";
            p.ranges.min = -1.0f; p.ranges.max = 3600.0f; p.ranges.def = -1.0f;  // -1: never
            break;
        case kAbort: switchParameter(p, "Abort", "abort"); break;
        case kHang: switchParameter(p, "Hang", "hang"); break;
        case kNan: switchParameter(p, "NaN", "nan"); break;
        }
    }

    float getParameterValue(uint32_t index) const override {
        return index == kAfter ? fAfter : index == kAbort ? fAbort : index == kHang ? fHang : fNan;
    }

    void setParameterValue(uint32_t index, float value) override {
        if (index == kAfter && value == 1234.5f)
            if (const char* onState = std::getenv("SSCRASH_ON_STATE"))  // a saved state it cannot take
                crash(std::string(onState) == "hang" ? 2 : 0);
        if (index == kAfter) fAfter = value; else if (index == kAbort) fAbort = value;
        else if (index == kHang) fHang = value; else fNan = value;
    }

    void activate() override { fDone = 0; }

    void run(const float** inputs, float** outputs, uint32_t frames) override {
        const bool due = fAfter >= 0.0f && double(fDone) >= double(fAfter) * getSampleRate();
        if (due && fNan < 0.5f)
            crash(fHang >= 0.5f ? 2 : fAbort >= 0.5f ? 1 : 0);
        fDone += frames;
        if (fChatty)
            std::printf("SS Test Crash: %u frames\n", frames), std::fflush(stdout);
        for (uint32_t c = 0; c < 2; ++c)
            for (uint32_t i = 0; i < frames; ++i)
                outputs[c][i] = due ? std::nanf("") : inputs[c][i];
    }

private:
    float fAfter, fAbort, fHang, fNan;
    uint64_t fDone;
    bool fChatty = false;
    DISTRHO_DECLARE_NON_COPYABLE_WITH_LEAK_DETECTOR(SsCrash)
};

Plugin* createPlugin() { return new SsCrash(); }

END_NAMESPACE_DISTRHO
