// A stereo test effect: gain in dB, polarity flip, and an integer delay that
// the plugin reports to the host as its latency. Used by tests/ to check the
// host bridge against a real VST3 (parameter mapping, state, latency).
#include "DistrhoPlugin.hpp"
#include <cmath>
#include <vector>

START_NAMESPACE_DISTRHO

class SsGain : public Plugin {
public:
    enum { kGain = 0, kPolarity, kDelay, kParamCount };
    static constexpr uint32_t kMaxDelay = 4096;

    SsGain() : Plugin(kParamCount, 0, 0), fGainDb(0.0f), fPolarity(0.0f), fDelay(0.0f),
               fBuf(2 * (kMaxDelay + 1), 0.0f), fPos(0) {}

protected:
    const char* getLabel() const override { return "ss_test_gain"; }
    const char* getMaker() const override { return "soundstage tests"; }
    const char* getLicense() const override { return "MIT"; }
    uint32_t getVersion() const override { return d_version(1, 0, 0); }
    int64_t getUniqueId() const override { return d_cconst('S', 's', 'G', 'n'); }

    void initParameter(uint32_t index, Parameter& p) override {
        p.hints = kParameterIsAutomatable;
        switch (index) {
        case kGain:
            p.name = "Gain"; p.symbol = "gain"; p.unit = "dB";
            p.ranges.min = -60.0f; p.ranges.max = 12.0f; p.ranges.def = 0.0f;
            break;
        case kPolarity:
            p.hints |= kParameterIsBoolean | kParameterIsInteger;
            p.name = "Polarity"; p.symbol = "polarity"; p.unit = "";
            p.ranges.min = 0.0f; p.ranges.max = 1.0f; p.ranges.def = 0.0f;
            break;
        case kDelay:
            p.hints |= kParameterIsInteger;
            p.name = "Delay"; p.symbol = "delay"; p.unit = "samples";
            p.ranges.min = 0.0f; p.ranges.max = float(kMaxDelay); p.ranges.def = 0.0f;
            break;
        }
    }

    float getParameterValue(uint32_t index) const override {
        switch (index) {
        case kGain: return fGainDb;
        case kPolarity: return fPolarity;
        case kDelay: return fDelay;
        }
        return 0.0f;
    }

    void setParameterValue(uint32_t index, float value) override {
        switch (index) {
        case kGain: fGainDb = value; break;
        case kPolarity: fPolarity = value; break;
        case kDelay:
            fDelay = std::round(value);
            setLatency(uint32_t(fDelay));
            break;
        }
    }

    void activate() override {
        std::fill(fBuf.begin(), fBuf.end(), 0.0f);
        fPos = 0;
    }

    void run(const float** inputs, float** outputs, uint32_t frames) override {
        const float g = std::pow(10.0f, fGainDb / 20.0f) * (fPolarity >= 0.5f ? -1.0f : 1.0f);
        const uint32_t d = uint32_t(fDelay);
        const uint32_t n = kMaxDelay + 1;
        for (uint32_t i = 0; i < frames; ++i) {
            for (uint32_t c = 0; c < 2; ++c) {
                float* buf = &fBuf[c * n];
                buf[fPos] = inputs[c][i];
                outputs[c][i] = g * buf[(fPos + n - d) % n];
            }
            fPos = (fPos + 1) % n;
        }
    }

private:
    float fGainDb, fPolarity, fDelay;
    std::vector<float> fBuf;
    uint32_t fPos;
    DISTRHO_DECLARE_NON_COPYABLE_WITH_LEAK_DETECTOR(SsGain)
};

Plugin* createPlugin() { return new SsGain(); }

END_NAMESPACE_DISTRHO
