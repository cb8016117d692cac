// The engine compiled on its own (see engine_api.hpp): the same code for every format and every program.
#include "engine.hpp"

namespace ssx {

EngineHandle::EngineHandle() : engine_(new Engine) {}
EngineHandle::~EngineHandle() = default;

bool EngineHandle::open(const uint8_t* data, size_t size) { return engine_->open(data, size); }
const std::vector<ParameterInfo>& EngineHandle::parameters() const { return engine_->parameters(); }
const std::string& EngineHandle::chain_text() const { return engine_->chain_text(); }
int EngineHandle::latency() const { return engine_->latency(); }
double EngineHandle::value(size_t index) const { return engine_->value(index); }
bool EngineHandle::prepare(double rate) { return engine_->prepare(rate); }
void EngineHandle::bypass(bool on) { engine_->bypass(on); }
bool EngineHandle::bypassed() const { return engine_->bypassed(); }
void EngineHandle::reset() { engine_->reset(); }
void EngineHandle::set(size_t index, double value) { engine_->set(index, value); }
void EngineHandle::process(const float* const* in, float* const* out, uint32_t frames) { engine_->process(in, out, frames); }

}  // namespace ssx
