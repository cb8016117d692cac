// Real-time check of an exported plugin's MIDI map (tests/test_export_plugin.py builds and runs it).
//
//     midi_rt_check        (built with -I a folder holding midi_map_data.h, the header export-plugin --map generates)
//
// Makes the map's Mapper as the plugin does (at load), then counts every allocation (operator new, malloc) while it
// decodes a stream of random messages of every kind, with changes waiting for their stages and falling due, as the
// plugin's audio thread does, and more messages than changes can wait (a flood). Prints "allocations N messages M
// changes C" and exits 0; the test wants N == 0 and C > 0.
#include "midi_map_data.h"

#include <cstdio>
#include <vector>

#include "counting_new.hpp"

int main() {
    ssx::midi::Mapper mapper(ssx::midi::kMap);
    mapper.prepare(48000.0);
    std::vector<double> values(ssx::midi::kMap.knobs, 0.5);
    long messages = 0, changes = 0;
    const auto current = [&](uint32_t knob) { return values[knob]; };
    const auto apply = [&](uint32_t knob, double value) {
        values[knob] = value;
        ++changes;
    };
    unsigned seed = 7;
    const auto next = [&](unsigned range) { return ((seed = seed * 1103515245u + 12345u) >> 8 & 0xffffff) % range; };
    counting = true;
    uint64_t now = 0;
    for (int block = 0; block < 2000; ++block) {
        const int count = block % 50 == 49 ? 12000 : int(next(8));  // now and then a flood: more than can wait
        for (int m = 0; m < count; ++m) {
            static const uint8_t kinds[] = {0xb0, 0x90, 0x80, 0xe0, 0xc0};
            const uint8_t message[3] = {uint8_t(kinds[next(5)] | next(2)), uint8_t(next(128)), uint8_t(next(128))};
            mapper.feed(message, message[0] >> 4 == 0xc ? 2 : 3, now + next(256), current, apply);
            ++messages;
        }
        now += 256;
        mapper.due(now, apply);
    }
    counting = false;
    std::printf("allocations %ld messages %ld changes %ld\n", allocations.load(), messages, changes);
    return 0;
}
