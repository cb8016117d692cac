// (web.py inlines it into web.html after web_page.js, whose functions it uses and which call it.)
// ---------------------------------------------------------------------------------------------------------------
// MIDI: a controller moves the knobs, the bypass and the A/B, and plays (Web MIDI). Bindings are soundstage's MIDI map bindings
// (soundstage/midi/maps.py), read as soundstage reads them (midi/decode.py): 7- and 14-bit CCs, NRPN/RPN, relative
// encoders, notes, pitch bend, program changes; range, curve, invert and pickup (soft takeover). They come from the
// map given at export (`--map`), or are learned here (`learn` beside a knob, then move a control) and kept in the
// browser; `save map` writes them as a map file `soundstage live --map` reads.
const PARAMETER_NUMBER_CCS = new Set([6, 38, 96, 97, 98, 99, 100, 101]);
const STORE = `soundstage.midi.${config.name}`;
const midi = {
  access: null, bindings: [], programs: config.midi.programs, learning: null, burst: [], timer: null,
  channels: new Map(), positions: new Map(), picked: new Map(), last: new Map(),
};
state.midi = midi;

function clamp01(x) { return Math.min(Math.max(x, 0), 1); }
function isSwitch(target) { return target === "bypass" || target === "ab" || target === "play"; }
function currentValue(target) {
  if (target === "bypass") return state.bypass ? 1 : 0;
  if (target === "play") return state.playing ? 1 : 0;
  if (target === "ab") return state.side === "reference" ? 1 : 0;
  return state.values[target];
}

// Binding.value: the value a control position 0..1 gives (invert, then range and curve); a switch is on from half-way.
function bindingValue(b, position) {
  let x = clamp01(position);
  if (b.invert) x = 1 - x;
  if (isSwitch(b.target)) return x >= 0.5 ? 1 : 0;
  const p = config.parameters[b.target];
  if (p.kind !== "number") return valueAt(p, x);
  const lo = b.minimum ?? p.minimum, hi = b.maximum ?? p.maximum;
  if (b.curve === "log") return lo * (hi / lo) ** x;
  if (b.curve === "db") {
    const low = 10 ** (lo / 20), high = 10 ** (hi / 20);
    return 20 * Math.log10(Math.max(low + x ** config.db_taper_exponent * (high - low), 1e-12));
  }
  if (b.curve === "exponent") return lo + x ** b.exponent * (hi - lo);
  return lo + x * (hi - lo);
}

// Binding.position: the control position that gives `value` (the inverse of bindingValue).
function bindingPosition(b, value) {
  let x;
  if (isSwitch(b.target)) x = value;
  else {
    const p = config.parameters[b.target];
    if (p.kind !== "number") x = positionOf(p, value);
    else {
      const lo = b.minimum ?? p.minimum, hi = b.maximum ?? p.maximum;
      if (b.curve === "log") x = Math.log(Math.max(value, 1e-30) / lo) / Math.log(hi / lo);
      else if (b.curve === "db") {
        const low = 10 ** (lo / 20), high = 10 ** (hi / 20);
        x = Math.max((10 ** (value / 20) - low) / (high - low), 0) ** (1 / config.db_taper_exponent);
      } else if (b.curve === "exponent") x = Math.max((value - lo) / (hi - lo), 0) ** (1 / b.exponent);
      else x = hi !== lo ? (value - lo) / (hi - lo) : 0;
    }
  }
  x = clamp01(x);
  return b.invert ? 1 - x : x;
}

function relativeDelta(value, encoding) {
  if (encoding === "twos_complement") return value < 64 ? value : value - 128;
  if (encoding === "signed_bit") return value & 64 ? -(value & 63) : value & 63;
  return value - 64;  // binary offset
}

// A channel's memory: the MSBs of 14-bit pairs, the NRPN/RPN selected and the values given to each.
function newChannel() {
  return { msb: new Map(), parameterMsb: null, parameterLsb: null, registered: false, data: new Map() };
}

function channelState(channel) {
  if (!midi.channels.has(channel)) midi.channels.set(channel, newChannel());
  return midi.channels.get(channel);
}

// NRPN (99/98) and RPN (101/100) selection, data entry (6/38), increment/decrement (96/97): [registered, number,
// 14-bit value] when a data message changes the selected parameter, else null.
function parameterNumberUpdate(s, control, value) {
  if (control === 99 || control === 101) { s.parameterMsb = value; s.registered = control === 101; return null; }
  if (control === 98 || control === 100) { s.parameterLsb = value; s.registered = control === 100; return null; }
  if (![6, 38, 96, 97].includes(control) || s.parameterMsb === null || s.parameterLsb === null) return null;
  const number = (s.parameterMsb << 7) | s.parameterLsb, key = `${s.registered}:${number}`;
  let current = s.data.get(key) ?? 0;
  if (control === 6) current = value << 7;
  else if (control === 38) current = (current & ~127) | value;
  else if (control === 96) current = Math.min(current + 1, 16383);
  else current = Math.max(current - 1, 0);
  s.data.set(key, current);
  return [s.registered, number, current];
}

function matching(kind, channel, number = null) {
  return midi.bindings.filter(
    (b) => b.kind === kind && (b.channel === null || b.channel === channel) && (number === null || b.number === number));
}

// An absolute control's new position; with pickup, it moves nothing until it reaches (or passes) the knob's position.
function absolute(b, position) {
  if (b.pickup && !midi.picked.get(b)) {
    const current = bindingPosition(b, currentValue(b.target)), last = midi.last.get(b);
    midi.last.set(b, position);
    const crossed = last !== undefined && (last - current) * (position - current) <= 0;
    if (!(Math.abs(position - current) <= 1 / 127 || crossed)) return [];
    midi.picked.set(b, true);
  }
  return [[b.target, bindingValue(b, position)]];
}

// The changes one message asks for: [[target, value], ...] (a target: a knob's index, "bypass" or "ab").
function decode(data) {
  const type = data[0] & 0xf0, channel = data[0] & 0x0f;
  const out = [];
  if (type === 0xb0) {
    const [control, value] = [data[1], data[2]], s = channelState(channel);
    for (const b of matching("cc", channel, control)) out.push(...absolute(b, value / 127));
    for (const b of matching("relative", channel, control)) {
      const start = midi.positions.get(b) ?? bindingPosition(b, currentValue(b.target));
      const position = clamp01(start + relativeDelta(value, b.encoding) / 127);
      midi.positions.set(b, position);
      out.push([b.target, bindingValue(b, position)]);
    }
    if (control < 32) {
      s.msb.set(control, value);
      for (const b of matching("cc14", channel, control)) out.push(...absolute(b, (value << 7) / 16383));
    } else if (control < 64 && s.msb.has(control - 32)) {
      const msb = s.msb.get(control - 32);
      for (const b of matching("cc14", channel, control - 32)) out.push(...absolute(b, ((msb << 7) | value) / 16383));
    }
    const update = parameterNumberUpdate(s, control, value);
    if (update) {
      for (const b of matching(update[0] ? "rpn" : "nrpn", channel, update[1])) out.push(...absolute(b, update[2] / 16383));
    }
  } else if (type === 0x90 || type === 0x80) {
    const pressed = type === 0x90 && data[2] > 0;
    for (const b of matching("note", channel, data[1])) {
      if (b.mode === "momentary") out.push([b.target, bindingValue(b, pressed ? 1 : 0)]);
      else if (pressed) {
        const position = (midi.positions.get(b) ?? 0) >= 0.5 ? 0 : 1;
        midi.positions.set(b, position);
        out.push([b.target, bindingValue(b, position)]);
      }
    }
  } else if (type === 0xe0) {
    for (const b of matching("pitchbend", channel)) out.push(...absolute(b, ((data[2] << 7) | data[1]) / 16383));
  } else if (type === 0xc0) {
    for (const b of matching("program", channel)) out.push([b.target, bindingValue(b, data[1] / 127)]);
    for (const preset of midi.programs) {
      if (preset.program === data[1] && (preset.channel === null || preset.channel === channel)) out.push(...preset.values);
    }
  }
  return out;
}

// Python's round(): half to even (live.py's feedback rounds so).
function roundHalfEven(x) {
  const floor = Math.floor(x), rest = x - floor;
  return rest > 0.5 ? floor + 1 : rest < 0.5 ? floor : floor % 2 === 0 ? floor : floor + 1;
}

// live.feedback_messages: what puts a control at `position` (0..1), for a motor fader or an LED ring.
function feedbackMessages(b, position) {
  const channel = b.channel ?? 0, cc = 0xb0 | channel;
  if (b.kind === "cc" || b.kind === "relative") return [[cc, b.number, roundHalfEven(position * 127)]];
  const value = roundHalfEven(position * 16383);
  if (b.kind === "cc14") return [[cc, b.number, value >> 7], [cc, b.number + 32, value & 127]];
  if (b.kind === "nrpn" || b.kind === "rpn") {
    const [msb, lsb] = b.kind === "rpn" ? [101, 100] : [99, 98];
    return [[cc, msb, b.number >> 7], [cc, lsb, b.number & 127], [cc, 6, value >> 7], [cc, 38, value & 127]];
  }
  if (b.kind === "note") return [position >= 0.5 ? [0x90 | channel, b.number, 127] : [0x80 | channel, b.number, 0]];
  if (b.kind === "pitchbend") return [[0xe0 | channel, value & 127, value >> 7]];
  return [];
}

// The controls bound to `target` are sent where it is now, as `soundstage live --out` does: on the MIDI outputs
// named as a connected input (a controller's own pair of ports), so motor faders and LED rings follow the page.
function feedback(target) {
  if (!midi.access) return;
  const inputs = new Set([...midi.access.inputs.values()].map((input) => input.name));
  const outputs = [...midi.access.outputs.values()].filter((output) => inputs.has(output.name));
  for (const b of midi.bindings) {
    if (b.target !== target) continue;
    for (const message of feedbackMessages(b, bindingPosition(b, currentValue(target)))) {
      for (const output of outputs) output.send(message);
    }
  }
}

function apply(target, value) {
  if (target === "play") {  // a transport button: each press plays or pauses (a pad's note, a button's CC 127/0)
    if (value && !midi.playHeld) play();
    midi.playHeld = !!value;
  } else if (target === "bypass") { if (!!value !== state.bypass) setBypass(!!value); }
  else if (target === "ab") { if (config.reference) setSide(value ? "reference" : "device"); }
  else setKnob(target, value);
}

// A knob or switch moved by hand (after the change): its controls pick it up again from where it is now (soft
// takeover), an encoder goes on from there, and a pad's next press flips the switch as it now stands.
function handMoved(target) {
  for (const b of midi.bindings.filter((b) => b.target === target)) {
    midi.picked.delete(b);
    midi.last.delete(b);
    midi.positions.set(b, bindingPosition(b, currentValue(target)));
  }
}

function received(event) {
  const data = event.data;
  if (!data || !data.length || data[0] >= 0xf0) return;  // clock, active sensing, transport, sysex
  if (midi.learning !== null) {
    midi.burst.push(Array.from(data));
    clearTimeout(midi.timer);  // one gesture: until 0.4 s pass without a message (3 s at most)
    if (midi.burst.length === 1) midi.started = performance.now();
    midi.timer = setTimeout(finishLearning, performance.now() - midi.started > 3000 ? 0 : 400);
    return;
  }
  for (const [target, value] of decode(data)) apply(target, value);
}

// learn.detect: the binding a burst of messages from one control makes (without its target), or null.
function detect(burst) {
  const events = [], channels = new Map();
  for (const data of burst) {
    const type = data[0] & 0xf0, channel = data[0] & 0x0f;
    if (type === 0xb0) {
      if (!channels.has(channel)) channels.set(channel, newChannel());
      const s = channels.get(channel), [control, value] = [data[1], data[2]];
      events.push({ kind: "cc", channel, number: control, value });
      if (control < 32) s.msb.set(control, value);
      else if (control < 64 && s.msb.has(control - 32)) events.push({ kind: "cc14", channel, number: control - 32 });
      const update = parameterNumberUpdate(s, control, value);
      if (update) events.push({ kind: update[0] ? "rpn" : "nrpn", channel, number: update[1] });
    } else if (type === 0x90 && data[2] > 0) events.push({ kind: "note_on", channel, number: data[1] });
    else if (type === 0xe0) events.push({ kind: "pitchbend", channel, number: 0 });
    else if (type === 0xc0) events.push({ kind: "program", channel, number: data[1] });
  }
  const last = (kind) => events.filter((e) => e.kind === kind).at(-1);
  const first = (kind) => events.find((e) => e.kind === kind);
  for (const kind of ["nrpn", "rpn", "cc14"]) {
    const e = last(kind);
    if (e) return { kind, channel: e.channel, number: e.number, pickup: true };
  }
  const note = first("note_on");
  if (note) return { kind: "note", channel: note.channel, number: note.number, mode: "toggle" };
  if (first("pitchbend")) return { kind: "pitchbend", channel: first("pitchbend").channel, number: 0 };
  const controls = events.filter((e) => e.kind === "cc" && !PARAMETER_NUMBER_CCS.has(e.number));
  if (controls.length) {
    const counts = new Map();
    for (const e of controls) counts.set(`${e.channel}:${e.number}`, (counts.get(`${e.channel}:${e.number}`) ?? 0) + 1);
    const most = Math.max(...counts.values());
    const chosen = controls.find((e) => counts.get(`${e.channel}:${e.number}`) === most);
    const values = controls.filter((e) => e.channel === chosen.channel && e.number === chosen.number).map((e) => e.value);
    const encoding = relativeEncoding(values);
    if (encoding) return { kind: "relative", channel: chosen.channel, number: chosen.number, encoding };
    return { kind: "cc", channel: chosen.channel, number: chosen.number, pickup: true };
  }
  if (first("program")) return { kind: "program", channel: first("program").channel, number: first("program").number };
  return null;
}

// learn.relative_encoding: an encoder sends the same value again (an absolute control only sends changes).
function relativeEncoding(values) {
  if (!values.some((v, i) => i > 0 && v === values[i - 1])) return null;
  const count = (lo, hi) => values.filter((v) => v >= lo && v <= hi).length;
  const small = count(1, 15), high = count(113, 127), up = count(65, 79), down = count(49, 63);
  if (small + high === values.length && small) return "twos_complement";
  if (small + up === values.length && small && up) return "signed_bit";
  if (up + down === values.length) return "binary_offset";
  return null;
}

function bindingLabel(b) {
  const where = b.channel === null ? "" : `ch${b.channel + 1} `;
  return where + {
    cc: `CC ${b.number}`, cc14: `CC ${b.number}/${b.number + 32}`, nrpn: `NRPN ${b.number}`, rpn: `RPN ${b.number}`,
    relative: `encoder CC ${b.number}`, note: `note ${b.number}`, pitchbend: "pitch bend", program: "program",
  }[b.kind];
}

function showBindings() {
  for (const button of document.querySelectorAll("button[data-learn]")) {
    const target = button.dataset.learn, index = isSwitch(target) ? target : Number(target);
    const bound = midi.bindings.filter((b) => b.target === index);
    button.classList.toggle("on", midi.learning === index);
    const label = bound.length ? bound.map(bindingLabel).join(", ") : "learn";
    button.textContent = midi.learning === index ? "move a control..." : label;
    button.title = "learn: click, then move a control on the MIDI controller; right-click: forget its control";
  }
  document.getElementById("save-map").disabled = !midi.bindings.some((b) => !isSwitch(b.target));
}

function startLearning(target) {
  if (midi.learning === target) { midi.learning = null; showBindings(); return; }  // a second click: cancel
  midi.learning = target;
  midi.burst = [];
  showBindings();
  if (!midi.access) connectMidi();
}

function finishLearning() {
  const target = midi.learning, found = detect(midi.burst);
  midi.learning = null;
  midi.burst = [];
  if (found === null || target === null) { showBindings(); return; }
  const binding = { target, kind: found.kind, channel: found.channel, number: found.number, minimum: null, maximum: null,
                    curve: "linear", exponent: 1, invert: false, pickup: !!found.pickup,
                    encoding: found.encoding ?? "twos_complement", mode: found.mode ?? "toggle" };
  if (target === "play") Object.assign(binding, { pickup: false, mode: "momentary" });  // a press, not a position
  const p = isSwitch(target) ? null : config.parameters[target];
  if (p && p.kind === "number" && p.scale !== "linear" && !["note", "program"].includes(found.kind)) binding.curve = p.scale;
  forget(target, false);
  midi.bindings.push(binding);
  keepBindings();
}

function forget(target, keep = true) {
  midi.bindings = midi.bindings.filter((b) => b.target !== target);
  if (keep) keepBindings();
}

function keepBindings() {
  try {
    const kept = midi.bindings.map((b) => ({ ...b, target: isSwitch(b.target) ? b.target : config.parameters[b.target].path }));
    localStorage.setItem(STORE, JSON.stringify(kept));
  } catch (error) { /* a browser that keeps nothing for pages opened from disk: the bindings last while the page is open */ }
  showBindings();
}

// The bindings the page starts with: those learned here before (kept in the browser), else the exported map's.
function restoreBindings() {
  midi.bindings = config.midi.bindings.map((b) => ({ ...b }));
  let kept = null;
  try { kept = JSON.parse(localStorage.getItem(STORE) || "null"); } catch (error) { kept = null; }
  if (Array.isArray(kept)) {
    const index = new Map(config.parameters.map((p, i) => [p.path, i]));
    midi.bindings = kept.filter((b) => isSwitch(b.target) || index.has(b.target))
      .map((b) => ({ ...b, target: isSwitch(b.target) ? b.target : index.get(b.target) }));
  }
  showBindings();
}

function resetBindings() {
  try { localStorage.removeItem(STORE); } catch (error) { /* nothing kept */ }
  restoreBindings();
}

async function connectMidi() {
  const status = document.getElementById("midi-status");
  if (!navigator.requestMIDIAccess) {
    status.textContent = "this browser has no Web MIDI (Safari, or a page it does not trust): use Chrome, Edge or Firefox";
    return;
  }
  try {
    midi.access = await navigator.requestMIDIAccess();
  } catch (error) {
    const name = error.name || String(error);
    status.textContent = ["NotAllowedError", "SecurityError"].includes(name)
      ? `MIDI refused (${name}): allow MIDI for this page in the browser's site settings, then connect again`
      : `the browser found no MIDI system (${name}${error.message ? ": " + error.message : ""}); on Linux it needs the ` +
        "ALSA sequencer (the snd-seq module): load it, connect the controller, then connect again";
    return;
  }
  const listen = () => {
    const names = [];
    for (const input of midi.access.inputs.values()) { input.onmidimessage = received; names.push(input.name); }
    status.textContent = names.length ? `listening to ${names.join(", ")}` : "no MIDI input: connect a controller";
  };
  midi.access.onstatechange = listen;
  listen();
  for (const target of new Set(midi.bindings.map((b) => b.target))) feedback(target);  // the faders to the page
  document.getElementById("midi").classList.add("on");
}

// The page's bindings of the chain's knobs as a soundstage MIDI map (TOML): `soundstage live --map` reads it.
function mapText() {
  const lines = [
    `# soundstage MIDI map, from the page of ${JSON.stringify(config.name)} (soundstage export-plugin --format web)`,
    "# soundstage live --chain CHAIN.toml --map THIS.toml --in CONTROLLER   (the bypass and A/B bindings stay in the page)",
    "format = 1",
  ];
  for (const b of midi.bindings.filter((b) => !isSwitch(b.target))) {
    lines.push("", "[[bindings]]", `target = ${JSON.stringify(config.parameters[b.target].path)}`, `kind = "${b.kind}"`);
    if (b.channel !== null) lines.push(`channel = ${b.channel + 1}`);
    if (!["pitchbend", "program"].includes(b.kind) || b.number) lines.push(`number = ${b.number}`);
    if (b.minimum !== null) lines.push(`min = ${b.minimum}`);
    if (b.maximum !== null) lines.push(`max = ${b.maximum}`);
    if (b.curve !== "linear") lines.push(`curve = "${b.curve}"`);
    if (b.curve === "exponent") lines.push(`exponent = ${b.exponent}`);
    if (b.invert) lines.push("invert = true");
    if (b.pickup) lines.push("pickup = true");
    if (b.kind === "relative") lines.push(`encoding = "${b.encoding}"`);
    if (b.kind === "note") lines.push(`mode = "${b.mode}"`);
  }
  return lines.join("\n") + "\n";
}

function saveMap() {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([mapText()], { type: "application/toml" }));
  link.download = `${config.stem}-map.toml`;
  document.body.appendChild(link);
  link.click();
  link.remove();
}

function setUpMidi() {
  document.getElementById("midi").onclick = connectMidi;
  document.getElementById("save-map").onclick = saveMap;
  document.getElementById("reset-map").onclick = resetBindings;
  for (const button of document.querySelectorAll("button[data-learn]")) {
    const target = isSwitch(button.dataset.learn) ? button.dataset.learn : Number(button.dataset.learn);
    button.onclick = () => startLearning(target);
    button.oncontextmenu = (event) => { event.preventDefault(); forget(target); };
  }
  restoreBindings();
}
