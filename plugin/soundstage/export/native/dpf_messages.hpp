// Included before every source of an exported plugin (g++ -include): DPF's messages on stderr, less one.
// pedalboard (JUCE's VST3 host) releases a plugin's component before its audio processor; DPF then keeps the
// component until the library unloads, as it should, and says "DPF warning: asked to delete component while
// audio processor still active" each time. A soundstage run that has an exported plugin in its chain printed
// that after its own last line, which reads as a failure; it is left out. Every other message is printed.
#pragma once
#include "DistrhoUtils.hpp"

#include <cstdarg>
#include <cstdio>
#include <cstring>

namespace ssx_dpf {

inline void stderr_line(const char* const fmt, ...) noexcept {
    static const char kReleaseOrder[] = "DPF warning: asked to delete component while ";
    if (std::strncmp(fmt, kReleaseOrder, sizeof(kReleaseOrder) - 1) == 0) return;
    va_list args;
    va_start(args, fmt);
    std::vfprintf(stderr, fmt, args);
    std::fputc('\n', stderr);
    va_end(args);
}

}  // namespace ssx_dpf

#define d_stderr(...) ::ssx_dpf::stderr_line(__VA_ARGS__)
