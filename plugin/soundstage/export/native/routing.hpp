// The engine's routing operations (soundstage.host.routing) and the reading of any operation from the program.

#pragma once

#include "builtins.hpp"
#include "ops.hpp"

namespace ssx {

// ---------------------------------------------------------------------------------
// Operations that hold others: the routing nodes of soundstage.host.routing.

enum OpKind : uint32_t {
    kUpmix = 1, kGain = 2, kFir = 3, kDelay = 4, kVirtualizer = 5, kMatrix = 6, kChannels = 7, kBranches = 8, kBuiltin = 9
};

// one operation from the program (bake.py's _Baker.stage); null if its kind is unknown
inline std::unique_ptr<Op> read_op(Reader& r, double rate, int depth);

// The deepest routing nodes nest (a parallel in a branch of a parallel ...); deeper is a damaged program.
constexpr int kMaxDepth = 16;

// Operations in sequence on buffers of their own, float32 between them as the Python chain: the chain of a parallel
// branch, or the node an on_channels / per_channel runs.
class OpRun {
public:
    // allocates; false if the program is damaged or the channel counts do not chain
    bool read(Reader& r, double rate, int inputs, int depth) {
        const uint32_t count = r.get<uint32_t>();
        inputs_ = outputs_ = widest_ = inputs;
        for (uint32_t i = 0; i < count && r.ok; ++i) {
            std::unique_ptr<Op> op = read_op(r, rate, depth);
            if (!r.ok || !op || op->inputs() != outputs_) return false;
            outputs_ = op->outputs();
            widest_ = std::max(widest_, outputs_);
            ops_.push_back(std::move(op));
        }
        if (!r.ok || widest_ > kMaxChannels) return false;
        buffers_[0].assign(size_t(widest_) * kMaxBlock, 0.0);
        buffers_[1].assign(size_t(widest_) * kMaxBlock, 0.0);
        return true;
    }
    int inputs() const { return inputs_; }
    int outputs() const { return outputs_; }
    void reset(const std::vector<double>& values) {
        for (auto& op : ops_) op->reset(values);
    }
    void changed(int32_t parameter, const std::vector<double>& values) {
        for (auto& op : ops_) op->changed(parameter, values);
    }
    // in[c] for c in `channels` (inputs() of them) to out[0..outputs())
    void process(const double* const* in, const int* channels, double* const* out, int n) {
        double* a[kMaxChannels];
        double* b[kMaxChannels];
        for (int c = 0; c < widest_; ++c) {
            a[c] = &buffers_[0][size_t(c) * kMaxBlock];
            b[c] = &buffers_[1][size_t(c) * kMaxBlock];
        }
        for (int c = 0; c < inputs_; ++c) std::memcpy(a[c], in[channels ? channels[c] : c], sizeof(double) * size_t(n));
        for (auto& op : ops_) {
            op->process(a, b, n);
            for (int c = 0; c < op->outputs(); ++c) {
                for (int i = 0; i < n; ++i) b[c][i] = double(float(b[c][i]));
                std::swap(a[c], b[c]);
            }
        }
        for (int c = 0; c < outputs_; ++c) std::memcpy(out[c], a[c], sizeof(double) * size_t(n));
    }

private:
    int inputs_ = 0, outputs_ = 0, widest_ = 0;
    std::vector<std::unique_ptr<Op>> ops_;
    std::vector<double> buffers_[2];
};

// A run of operations and the delay that brings its output level with the slowest of its kind (a group of
// ChannelsOp, a branch of BranchesOp).
struct AlignedRun {
    OpRun run;
    Delays align;
    void reset(const std::vector<double>& values) {
        run.reset(values);
        align.reset();
    }
};

// OnChannels and PerChannel: groups of channels, each through operations of its own (one group for OnChannels;
// one per channel, each a copy of the node, for PerChannel) and delayed to the slowest; the channels no group takes
// pass, delayed as much. Each group gives back as many channels as it takes, to the same places.
class ChannelsOp : public Op {
public:
    ChannelsOp(Reader& r, double rate, int depth) {
        width_ = int(r.get<uint32_t>());
        const uint32_t groups = r.get<uint32_t>();
        if (!r.ok || width_ < 1 || width_ > kMaxChannels || groups < 1 || groups > uint32_t(width_)) { r.ok = false; return; }
        std::vector<bool> taken(size_t(width_), false);
        groups_.resize(groups);
        for (auto& group : groups_) {
            const uint32_t count = r.get<uint32_t>();
            if (!r.ok || count < 1 || count > uint32_t(width_)) { r.ok = false; return; }
            for (uint32_t i = 0; i < count; ++i) {
                const uint32_t channel = r.get<uint32_t>();
                if (!r.ok || channel >= uint32_t(width_) || taken[channel]) { r.ok = false; return; }
                taken[channel] = true;
                group.channels.push_back(int(channel));
            }
            const uint32_t align = r.get<uint32_t>();
            if (!r.ok || !group.run.read(r, rate, int(count), depth) || group.run.outputs() != int(count)) {
                r.ok = false;
                return;
            }
            for (uint32_t i = 0; i < count && r.ok; ++i)
                if (!group.align.add(align)) r.ok = false;
        }
        const uint32_t bypass = r.get<uint32_t>();
        for (int c = 0; c < width_ && r.ok; ++c) {
            if (taken[size_t(c)]) continue;
            passing_.push_back(c);
            if (!bypass_.add(bypass)) r.ok = false;
        }
        size_t widest = 0;
        for (const auto& group : groups_) widest = std::max(widest, group.channels.size());
        scratch_.assign(widest, std::vector<double>(kMaxBlock, 0.0));
    }
    int inputs() const override { return width_; }
    int outputs() const override { return width_; }
    void reset(const std::vector<double>& values) override {
        for (auto& group : groups_) group.reset(values);
        bypass_.reset();
    }
    void changed(int32_t parameter, const std::vector<double>& values) override {
        for (auto& group : groups_) group.run.changed(parameter, values);
    }
    void process(const double* const* in, double* const* out, int n) override {
        for (auto& group : groups_) {
            const int count = int(group.channels.size());
            double* made[kMaxChannels];
            double* placed[kMaxChannels];
            for (int c = 0; c < count; ++c) {
                made[c] = scratch_[size_t(c)].data();
                placed[c] = out[group.channels[size_t(c)]];
            }
            group.run.process(in, group.channels.data(), made, n);
            group.align.process(made, placed, n);
        }
        const double* passing_in[kMaxChannels];
        double* passing_out[kMaxChannels];
        for (size_t c = 0; c < passing_.size(); ++c) {
            passing_in[c] = in[passing_[c]];
            passing_out[c] = out[passing_[c]];
        }
        bypass_.process(passing_in, passing_out, n);
    }

private:
    struct Group : AlignedRun {
        std::vector<int> channels;
    };
    int width_ = 0;
    std::vector<Group> groups_;
    std::vector<int> passing_;
    Delays bypass_;
    std::vector<std::vector<double>> scratch_;  // as many as the widest group
};

// Parallel: branches on the same input, each delayed to the slowest, summed.
class BranchesOp : public Op {
public:
    BranchesOp(Reader& r, double rate, int depth) {
        inputs_ = int(r.get<uint32_t>());
        const uint32_t count = r.get<uint32_t>();
        if (!r.ok || inputs_ < 1 || inputs_ > kMaxChannels || count < 1 || count > 64) { r.ok = false; return; }
        branches_.resize(count);
        for (auto& branch : branches_) {
            const uint32_t align = r.get<uint32_t>();
            if (!r.ok || !branch.run.read(r, rate, inputs_, depth)) { r.ok = false; return; }
            if (outputs_ == 0) outputs_ = branch.run.outputs();
            if (branch.run.outputs() != outputs_) { r.ok = false; return; }
            for (int c = 0; c < outputs_ && r.ok; ++c)
                if (!branch.align.add(align)) r.ok = false;
        }
        for (int c = 0; c < outputs_; ++c) {
            made_[c].assign(kMaxBlock, 0.0);
            aligned_[c].assign(kMaxBlock, 0.0);
        }
    }
    int inputs() const override { return inputs_; }
    int outputs() const override { return outputs_; }
    void reset(const std::vector<double>& values) override {
        for (auto& branch : branches_) branch.reset(values);
    }
    void changed(int32_t parameter, const std::vector<double>& values) override {
        for (auto& branch : branches_) branch.run.changed(parameter, values);
    }
    void process(const double* const* in, double* const* out, int n) override {
        double* made[kMaxChannels];
        double* aligned[kMaxChannels];
        for (int c = 0; c < outputs_; ++c) {
            made[c] = made_[c].data();
            aligned[c] = aligned_[c].data();
            std::fill(out[c], out[c] + n, 0.0);
        }
        for (auto& branch : branches_) {  // summed in float32, branch by branch, as Parallel does
            branch.run.process(in, nullptr, made, n);
            branch.align.process(made, aligned, n);
            for (int c = 0; c < outputs_; ++c)
                for (int i = 0; i < n; ++i) out[c][i] = double(float(out[c][i]) + float(aligned[c][i]));
        }
    }

private:
    int inputs_ = 0, outputs_ = 0;
    std::vector<AlignedRun> branches_;
    std::vector<double> made_[kMaxChannels], aligned_[kMaxChannels];
};

inline std::unique_ptr<Op> read_op(Reader& r, double rate, int depth) {
    const uint32_t kind = r.get<uint32_t>();
    if (!r.ok) return nullptr;
    if (kind == kUpmix) return std::make_unique<UpmixOp>(r, rate);
    if (kind == kGain) return std::make_unique<GainOp>(r, rate);
    if (kind == kFir) return std::make_unique<FirOp>(r);
    if (kind == kDelay) return std::make_unique<DelayOp>(r);
    if (kind == kVirtualizer) return std::make_unique<VirtualizerOp>(r, rate);
    if (kind == kMatrix) return std::make_unique<MatrixOp>(r);
    if (kind == kBuiltin) return std::make_unique<BuiltinOp>(r, rate);
    if (depth >= kMaxDepth) return nullptr;
    if (kind == kChannels) return std::make_unique<ChannelsOp>(r, rate, depth + 1);
    if (kind == kBranches) return std::make_unique<BranchesOp>(r, rate, depth + 1);
    return nullptr;
}

}  // namespace ssx
