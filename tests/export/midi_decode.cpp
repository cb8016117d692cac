// An exported plugin's MIDI map as a filter, for tests/test_export_plugin.py's differential fuzz against soundstage's
// own decoder (soundstage/midi/decode.py).
//
//     midi_decode VALUE...   (built with -I a folder holding midi_map_data.h; one VALUE per knob: what each holds)
//
// Reads one MIDI message a line on stdin ("BYTE BYTE [BYTE]"), feeds each to the map's Mapper, and prints the changes
// it makes, "KNOB VALUE" a line, then "-" after each message. Each knob holds the values given, then what the map
// last set it to (pickup and encoders read it), and the map's delays are 0 here, so the changes come in the order
// the decoder makes them.
#include "midi_map_data.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

int main(int argc, char** argv) {
    std::vector<double> values;
    for (int a = 1; a < argc; ++a) values.push_back(std::atof(argv[a]));
    if (values.size() != ssx::midi::kMap.knobs) return 2;
    ssx::midi::Mapper mapper(ssx::midi::kMap);
    mapper.prepare(48000.0);
    const auto current = [&](uint32_t knob) { return values[knob]; };
    const auto print = [&](uint32_t knob, double value) {
        values[knob] = value;
        std::printf("%u %.17g\n", knob, value);
    };
    unsigned b0, b1, b2;
    char line[64];
    while (std::fgets(line, sizeof line, stdin)) {
        const int count = std::sscanf(line, "%u %u %u", &b0, &b1, &b2);
        if (count < 2) continue;
        const uint8_t message[3] = {uint8_t(b0), uint8_t(b1), uint8_t(count == 3 ? b2 : 0)};
        mapper.feed(message, size_t(count), 0, current, print);
        mapper.due(0, print);
        std::puts("-");
    }
    return 0;
}
