// The engine's MIMO FIR operation (soundstage.dsp.fir): uniformly partitioned overlap-save in single precision,
// filter swaps crossfaded, filters from a design grid over one knob.

#pragma once

#include "engine_core.hpp"

namespace ssx {

// Spectra in single precision (numpy's complex64, as the Python engine keeps them), stored as separate
// real and imaginary parts so the multiply-adds vectorize (four per instruction on any x86-64).
struct Split {
    std::vector<float> re, im;
    void assign(size_t n) { re.assign(n, 0.0f); im.assign(n, 0.0f); }
    void clear() { std::fill(re.begin(), re.end(), 0.0f); std::fill(im.begin(), im.end(), 0.0f); }
    size_t size() const { return re.size(); }
    void set(size_t j, std::complex<float> v) { re[j] = v.real(); im[j] = v.imag(); }
    void add(size_t j, std::complex<float> v) { re[j] += v.real(); im[j] += v.imag(); }
};

// ---------------------------------------------------------------------------------
// soundstage.dsp.fir.MimoFir + CrossfadingFir: uniformly partitioned overlap-save,
// latency P, filter swaps crossfaded linearly over `fade` samples from the first
// output not yet computed, one at a time (a change during a fade is made after it); the filters from a design grid over one knob
// (soundstage.dsp.grid.GridAxis: nodes low + k * step, the last at high; linear
// between two nodes or the cubic through the four nearest, by the axis's order), or
// fixed (one node).
// a += h * x over `bins` complex values in split form: the convolutions' inner loop (with the FFTs, most of a
// plugin's time).
SSX_AVX2_CLONES
inline void multiply_add(float* __restrict ar, float* __restrict ai, const float* __restrict hr, const float* __restrict hi,
                         const float* __restrict xr, const float* __restrict xi, size_t bins) {
    for (size_t b = 0; b < bins; ++b) {
        ar[b] += hr[b] * xr[b] - hi[b] * xi[b];
        ai[b] += hr[b] * xi[b] + hi[b] * xr[b];
    }
}

class FirOp : public Op {
public:
    FirOp(Reader& r) {
        outputs_ = int(r.get<uint32_t>());
        inputs_ = int(r.get<uint32_t>());
        p_ = int(r.get<uint32_t>());
        parts_ = int(r.get<uint32_t>());
        fade_ = int64_t(r.get<uint32_t>());
        axis_ = r.get<int32_t>();
        step_ = r.get<double>(); low_ = r.get<double>(); high_ = r.get<double>();
        order_ = int(r.get<uint32_t>());
        nodes_ = int(r.get<uint32_t>());
        if (!r.ok || outputs_ < 1 || inputs_ < 1 || outputs_ > 64 || inputs_ > 64 || p_ < 1 || (p_ & (p_ - 1)) ||
            (order_ != 1 && order_ != 3) ||
            parts_ < 1 || nodes_ < 1 || nodes_ > 4096 || (nodes_ > 1 && !(step_ > 0 && high_ > low_))) {
            r.ok = false;
            return;
        }
        bins_ = p_ + 1;
        columns_ = parts_ * inputs_;
        const size_t per_node = size_t(outputs_) * size_t(columns_) * size_t(bins_);
        const size_t taps = size_t(parts_) * size_t(p_);
        fft_ = std::make_unique<Fft>(2 * p_);
        node_spectra_.resize(per_node * size_t(nodes_));
        std::vector<float> raw(taps, 0.0f);
        std::vector<double> padded(2 * size_t(p_), 0.0);
        std::vector<cplx> spectrum(static_cast<size_t>(bins_));
        for (int node = 0; node < nodes_ && r.ok; ++node)
            for (int o = 0; o < outputs_; ++o)
                for (int i = 0; i < inputs_; ++i) {
                    r.floats(raw.data(), taps);
                    for (int k = 0; k < parts_; ++k) {
                        for (int j = 0; j < p_; ++j) padded[size_t(j)] = raw[size_t(k * p_ + j)];
                        std::fill(padded.begin() + p_, padded.end(), 0.0);
                        fft_->rfft(padded.data(), spectrum.data());
                        const size_t column = size_t(o) * size_t(columns_) + size_t(k * inputs_ + i);
                        std::complex<float>* to = &node_spectra_[size_t(node) * per_node + column * size_t(bins_)];
                        for (int b = 0; b < bins_; ++b) to[b] = std::complex<float>(spectrum[size_t(b)]);
                    }
                }
        current_.assign(per_node);
        old_.assign(per_node);
        // per output, the blocks (partition, input) some node of the grid holds a nonzero value in: the others are
        // zero in any interpolation, and the convolution skips them (a fifth of the Spatializer's)
        live_.assign(size_t(outputs_), {});
        for (int o = 0; o < outputs_; ++o)
            for (int column = 0; column < columns_; ++column) {
                bool any = false;
                for (int node = 0; node < nodes_ && !any; ++node) {
                    const std::complex<float>* block =
                        &node_spectra_[size_t(node) * per_node + (size_t(o) * size_t(columns_) + size_t(column)) * size_t(bins_)];
                    any = std::any_of(block, block + bins_, [](std::complex<float> v) { return v != std::complex<float>(); });
                }
                if (any) live_[size_t(o)].push_back(column);
            }
        line_.assign(size_t(parts_) * size_t(inputs_) * size_t(bins_));
        spectrum_.assign(size_t(bins_), cplx());
        frame_in_.assign(size_t(inputs_) * 2 * size_t(p_), 0.0);
        ready_.assign(size_t(outputs_) * size_t(p_), 0.0);
        accumulate_.assign(size_t(bins_));
        sum_.assign(size_t(bins_), cplx());
        time_all_.assign(size_t(outputs_) * 2 * size_t(p_), 0.0);
        time_fade_.assign(size_t(outputs_) * 2 * size_t(p_), 0.0);
    }
    int inputs() const override { return inputs_; }
    int outputs() const override { return outputs_; }

    void reset(const std::vector<double>& values) override {
        interpolate(values, current_);
        fading_ = false;
        pending_ = values;
        has_pending_ = false;
        line_.clear();
        std::fill(frame_in_.begin(), frame_in_.end(), 0.0);
        std::fill(ready_.begin(), ready_.end(), 0.0);
        head_ = 0;
        t_ = 0;
        computed_ = p_;  // the latency: P samples of silence count as computed
    }
    void changed(int32_t parameter, const std::vector<double>& values) override {
        if (parameter != axis_ || nodes_ < 2) return;
        // made when the next partition is computed, or while a fade runs when the first one after it is
        // (soundstage.stages.device.Spatializer: one fade at a time, the last value wins)
        pending_ = values;  // the size reset() gave it: a copy, no allocation
        has_pending_ = true;
    }
    void process(const double* const* in, double* const* out, int n) override {
        const size_t two_p = 2 * size_t(p_);
        for (int i = 0; i < n;) {
            const size_t at = size_t(t_ % p_);
            const int count = std::min(n - i, p_ - int(at));  // up to the partition's end
            for (int o = 0; o < outputs_; ++o)
                std::memcpy(out[o] + i, &ready_[size_t(o) * size_t(p_) + at], sizeof(double) * size_t(count));
            for (int c = 0; c < inputs_; ++c)
                std::memcpy(&frame_in_[size_t(c) * two_p + size_t(p_) + at], in[c] + i, sizeof(double) * size_t(count));
            t_ += count;
            i += count;
            if (t_ % p_ == 0) partition();
        }
    }

private:
    double weight(int64_t sample) const {
        const double w = double(sample - fade_start_ + 1) / double(fade_);
        return std::min(std::max(w, 0.0), 1.0);
    }
    void interpolate(const std::vector<double>& values, Split& into) const {
        const size_t per_node = into.size();
        if (axis_ < 0 || nodes_ < 2) {
            for (size_t j = 0; j < per_node; ++j) into.set(j, node_spectra_[j]);
            return;
        }
        const double v = std::min(std::max(values[size_t(axis_)], low_), high_);
        const int index = std::min(int(std::floor((v - low_) / step_)), nodes_ - 2);
        const double lo = node_value(index), hi = node_value(index + 1);
        const double t = (v - lo) / (hi - lo);
        if (t <= 0.0 || t >= 1.0) {
            const std::complex<float>* a = &node_spectra_[size_t(t <= 0.0 ? index : index + 1) * per_node];
            for (size_t j = 0; j < per_node; ++j) into.set(j, a[j]);
            return;
        }
        int first = index, count = 2;
        double weights[4] = {1.0 - t, t, 0.0, 0.0};
        if (order_ == 3 && nodes_ >= 4) {  // the cubic through the four nearest nodes (Lagrange), as GridAxis.bracket
            first = std::min(std::max(index - 1, 0), nodes_ - 4);
            count = 4;
            for (int k = 0; k < 4; ++k) {
                weights[k] = 1.0;
                for (int m = 0; m < 4; ++m)
                    if (m != k) weights[k] *= (v - node_value(first + m)) / (node_value(first + k) - node_value(first + m));
            }
        }
        // in the designs' precision and order, as dsp/grid.py: the first node's share, then each other's added
        const std::complex<float>* a = &node_spectra_[size_t(first) * per_node];
        const float w0 = float(weights[0]);
        for (size_t j = 0; j < per_node; ++j) into.set(j, a[j] * w0);
        for (int k = 1; k < count; ++k) {
            const std::complex<float>* b = &node_spectra_[size_t(first + k) * per_node];
            const float w = float(weights[k]);
            for (size_t j = 0; j < per_node; ++j) into.add(j, b[j] * w);
        }
    }
    double node_value(int index) const { return index >= nodes_ - 1 ? high_ : low_ + index * step_; }
    void convolve(const Split& filters, double* time) {
        // sum over partitions k and inputs of H[k, in] * X[b - k, in]; the line's newest spectrum is at head_
        const size_t bins = size_t(bins_);
        for (int o = 0; o < outputs_; ++o) {
            accumulate_.clear();
            float* __restrict ar = accumulate_.re.data();
            float* __restrict ai = accumulate_.im.data();
            for (const int column : live_[size_t(o)]) {  // partition k, input c: in the order of the sum
                const int k = column / inputs_, c = column % inputs_;
                const size_t slot = size_t((head_ + k) % parts_);
                const size_t x = (slot * size_t(inputs_) + size_t(c)) * bins;
                const size_t h = (size_t(o) * size_t(columns_) + size_t(column)) * bins;
                multiply_add(ar, ai, &filters.re[h], &filters.im[h], &line_.re[x], &line_.im[x], bins);
            }
            for (size_t b = 0; b < bins; ++b) sum_[b] = cplx(double(ar[b]), double(ai[b]));
            fft_->irfft(sum_.data(), time + size_t(o) * 2 * size_t(p_));
        }
    }
    void partition() {
        const size_t two_p = 2 * size_t(p_);
        if (has_pending_ && !fading_) {  // the filters heard so far become the old ones
            old_.re = current_.re;  // same sizes: copies, no allocation
            old_.im = current_.im;
            interpolate(pending_, current_);
            fading_ = true;
            fade_start_ = computed_;
            has_pending_ = false;
        }
        head_ = (head_ + parts_ - 1) % parts_;  // the newest spectrum goes before the others
        for (int c = 0; c < inputs_; ++c) {
            double* frame = &frame_in_[size_t(c) * two_p];
            fft_->rfft(frame, spectrum_.data());
            const size_t at = (size_t(head_) * size_t(inputs_) + size_t(c)) * size_t(bins_);
            for (int b = 0; b < bins_; ++b) {
                line_.re[at + size_t(b)] = float(spectrum_[size_t(b)].real());
                line_.im[at + size_t(b)] = float(spectrum_[size_t(b)].imag());
            }
            std::memmove(frame, frame + p_, sizeof(double) * size_t(p_));  // this block becomes the previous one
        }
        convolve(current_, time_all_.data());
        if (fading_) convolve(old_, time_fade_.data());
        for (int o = 0; o < outputs_; ++o) {
            const double* fresh = &time_all_[size_t(o) * two_p + size_t(p_)];
            const double* stale = &time_fade_[size_t(o) * two_p + size_t(p_)];
            double* to = &ready_[size_t(o) * size_t(p_)];
            for (int j = 0; j < p_; ++j) {
                const double a = double(float(fresh[j]));
                to[j] = fading_ ? double(float(stale[j])) + (a - double(float(stale[j]))) * double(float(weight(computed_ + j)))
                               : a;
            }
        }
        if (fading_ && weight(computed_ + p_ - 1) >= 1.0) fading_ = false;
        computed_ += p_;
    }

    int outputs_ = 0, inputs_ = 0, p_ = 0, parts_ = 0, nodes_ = 0, bins_ = 0, columns_ = 0;
    int64_t fade_ = 0;
    int32_t axis_ = -1;
    double step_ = 0, low_ = 0, high_ = 0;
    int order_ = 1;
    std::unique_ptr<Fft> fft_;
    std::vector<std::complex<float>> node_spectra_;
    std::vector<std::vector<int>> live_;  // per output: the columns (partition * inputs + input) not zero everywhere
    Split current_, old_, line_, accumulate_;
    std::vector<cplx> spectrum_, sum_;
    std::vector<double> frame_in_, ready_, time_all_, time_fade_, pending_;
    bool fading_ = false, has_pending_ = false;
    int64_t fade_start_ = 0, computed_ = 0, t_ = 0;
    int head_ = 0;
};

}  // namespace ssx
