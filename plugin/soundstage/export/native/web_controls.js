// The web page's controls (after web_page.js, in the same script): the A/B and its loudness-matched gains, the
// transport, the files it opens, the meters, and the knobs as soundstage's parameters map them.
// Which side of the A/B plays: the two run together, in time; switching ramps their gains over 20 ms.
function setSide(side) {
  state.side = side;
  feedback("ab");
  const button = document.getElementById("ab");
  button.textContent = `A/B: ${side === "device" ? "device" : "stereo reference"} (a)`;
  button.classList.toggle("on", side === "reference");
  applyGains();
}

// The gains the sides are heard at: the one playing at its loudness match (the bypass's, when bypassed and that is
// matched), the other silent; ramped over 20 ms, as the engine's bypass crossfades.
function applyGains() {
  if (!state.context || !state.sides.device) return;
  const now = state.context.currentTime;
  for (const [name, node] of Object.entries(state.sides)) {
    const matched = state.bypass && MATCHES_BYPASS ? state.gains.bypass : state.gains[name];
    const target = name !== state.side ? 0 : state.matching ? matched : 1;
    node.gain.cancelScheduledValues(now);
    node.gain.setValueAtTime(node.gain.value, now);
    node.gain.linearRampToValueAtTime(target, now + 0.02);
  }
}

function setMatching(on) {
  state.matching = on;
  const button = document.getElementById("matching");
  button.textContent = `loudness match: ${on ? "on" : "off"} (m)`;
  button.classList.toggle("on", on);
  applyGains();
}

// What the listener hears of the outputs: the first two, one alone (on both ears), or all summed (mono).
function listenChoices() {
  const choices = [["1-2", config.outputs >= 2 ? "outputs 1 and 2" : "output 1"]];
  if (config.outputs > 2) {
    for (let c = 0; c < config.outputs; c++) choices.push([String(c), `output ${c + 1} alone`]);
    choices.push(["sum", `all ${config.outputs} outputs summed (mono)`]);
  }
  return choices;
}

function connectMonitor() {
  const context = state.context;
  state.monitor.forEach((node) => node.disconnect());
  const split = context.createChannelSplitter(config.outputs);
  const merge = context.createChannelMerger(2);
  const nodes = [split, merge];
  const route = (from, to, gain) => {
    const g = new GainNode(context, { gain });
    split.connect(g, from);
    g.connect(merge, 0, to);
    nodes.push(g);
  };
  if (state.listen === "1-2") { route(0, 0, 1); route(Math.min(1, config.outputs - 1), 1, 1); }
  else if (state.listen === "sum") { for (let c = 0; c < config.outputs; c++) { route(c, 0, 1); route(c, 1, 1); } }
  else { route(Number(state.listen), 0, 1); route(Number(state.listen), 1, 1); }
  state.bus.disconnect();
  state.bus.connect(split);
  const meters = context.createChannelSplitter(2);
  merge.connect(context.destination);
  merge.connect(meters);
  state.analyzers = [0, 1].map((c) => {
    const analyzer = new AnalyserNode(context, { fftSize: 2048 });
    meters.connect(analyzer, c);
    return analyzer;
  });
  const loudness = loudnessNode(context, showLoudness);
  merge.connect(loudness);
  nodes.push(meters, ...state.analyzers, loudness);
  state.monitor = nodes;
}

async function ensureContext() {
  if (state.context) return;
  const context = new AudioContext({ sampleRate: config.rate, latencyHint: "playback" });
  state.context = context;
  state.bus = new GainNode(
    context, { channelCount: config.outputs, channelCountMode: "explicit", channelInterpretation: "discrete" });
  const longest = config.reference ? Math.max(config.latency, config.reference.latency) : config.latency;
  state.node = await engineNode(context, { pad: longest - config.latency });
  state.sides.device = new GainNode(context, { gain: 1 });
  state.node.connect(state.sides.device).connect(state.bus);
  if (config.reference) {
    state.referenceNode = await engineNode(context, { reference: true, pad: longest - config.reference.latency });
    state.sides.reference = new GainNode(context, { gain: 0 });
    state.referenceNode.connect(state.sides.reference).connect(state.bus);
  }
  connectMonitor();
  setSide(state.side);
  requestAnimationFrame(meter);
}

function position() {
  if (!state.buffer) return 0;
  if (!state.playing) return state.offset;
  const t = state.context.currentTime - state.startedAt + state.offset;
  return state.loop ? t % state.buffer.duration : Math.min(t, state.buffer.duration);
}

function startSource(offset) {
  const source = new AudioBufferSourceNode(state.context, { buffer: state.buffer, loop: state.loop });
  source.connect(state.node);
  if (state.referenceNode) source.connect(state.referenceNode);
  source.onended = () => {
    if (state.source === source) { state.playing = false; state.offset = 0; showTransport(); feedback("play"); }
  };
  source.start(0, offset);
  state.source = source;
  state.startedAt = state.context.currentTime;
  state.offset = offset;
  state.playing = true;
}

function stopSource() {
  if (state.source) { const s = state.source; state.source = null; s.stop(); s.disconnect(); }
}

async function play() {
  if (!state.buffer) return;
  try {
    await ensureContext();
    await state.context.resume();
  } catch (error) {  // a browser that cannot run the engine at the page's rate: say so, in one line
    fail(`cannot play: ${error.message || error}`);
    return;
  }
  if (state.playing) { state.offset = position(); state.playing = false; stopSource(); }
  else startSource(state.offset);
  showTransport();
  feedback("play");  // the controller's play light
}

function seek(to) {
  if (!state.buffer) return;
  const at = Math.max(0, Math.min(to, state.buffer.duration));
  if (state.playing) { stopSource(); startSource(at); } else state.offset = at;
  showTransport();
}

function setBypass(on) {
  state.bypass = on;
  feedback("bypass");
  for (const node of [state.node, state.referenceNode]) if (node) node.port.postMessage({ bypass: on });
  const button = document.getElementById("bypass");
  button.textContent = `bypass: ${on ? "on" : "off"} (b)`;
  button.classList.toggle("on", on);
  applyGains();
}

// A knob's 0..1 position and its value, as soundstage's parameters map them (ParameterSpec.to_normalized and
// from_normalized): a "log" knob (a frequency, a time) travels as far from 20 to 200 Hz as from 2 to 20 kHz, a "db"
// knob on a fader's taper; a choice by its index, a switch at half-way.
function positionOf(p, value) {
  if (p.kind !== "number") return p.maximum > p.minimum ? (value - p.minimum) / (p.maximum - p.minimum) : 0;
  const lo = p.minimum, hi = p.maximum, v = Math.min(Math.max(value, lo), hi);
  if (p.scale === "log") return Math.log(v / lo) / Math.log(hi / lo);
  if (p.scale === "db") {
    const low = 10 ** (lo / 20), high = 10 ** (hi / 20);
    return Math.max((10 ** (v / 20) - low) / (high - low), 0) ** (1 / config.db_taper_exponent);
  }
  return (v - lo) / (hi - lo);
}

function valueAt(p, position) {
  const x = Math.min(Math.max(position, 0), 1), lo = p.minimum, hi = p.maximum;
  if (p.kind === "boolean") return x >= 0.5 ? 1 : 0;
  if (p.kind === "choice") return Math.round(x * (p.choices.length - 1));
  let value = lo + x * (hi - lo);
  if (p.scale === "log") value = lo * (hi / lo) ** x;
  else if (p.scale === "db") {
    const low = 10 ** (lo / 20), high = 10 ** (hi / 20);
    value = 20 * Math.log10(low + x ** config.db_taper_exponent * (high - low));
  }
  return Math.min(Math.max(value, lo), hi);
}

// Sets knob `index` to `value` (in its unit): the engine, the control on the page, the value shown. `from`: the
// control that moved it (left as the hand put it).
function setKnob(index, value, from = null) {
  state.values[index] = value;
  feedback(index);
  if (state.node) state.node.port.postMessage({ set: index, value });
  if (matchable() && state.buffer) {  // the chain's loudness moved: match again once the hand rests
    clearTimeout(state.rematch);
    state.rematch = setTimeout(match, 600);
  }
  const p = config.parameters[index];
  const input = document.getElementById(`knob-${index}`);
  if (input && input !== from) {
    if (input.type === "checkbox") input.checked = value > 0.5;
    else input.value = p.kind === "number" ? String(positionOf(p, value)) : String(Math.round(value));
  }
  const text = p.choices.length ? p.choices[Math.round(value)] : p.kind === "boolean" ? (value ? "on" : "off")
    : `${Number(value.toPrecision(4))} ${p.unit}`.trim();
  document.getElementById(`value-${index}`).textContent = text;
}

// A channel layout the chain can take: as many channels as it has inputs, or one (played on every input: dual mono).
function fitted(decoded, name) {
  if (decoded.numberOfChannels === config.inputs) return decoded;
  if (decoded.numberOfChannels !== 1) {
    throw new Error(`${name}: ${decoded.numberOfChannels} channels, but the chain takes ${config.inputs}; ` +
                    `fold it down first (soundstage process IN OUT --chain downmix-5.1), or open a stereo mix`);
  }
  const out = new AudioBuffer({ numberOfChannels: config.inputs, length: decoded.length, sampleRate: decoded.sampleRate });
  for (let c = 0; c < config.inputs; c++) out.copyToChannel(decoded.getChannelData(0), c);
  return out;
}

// Why a file the browser could not decode did not open, and what to do: files people drop by mistake named as such.
function notAudio(file) {
  const suffix = (file.name.match(/\.([^.]+)$/) || ["", ""])[1].toLowerCase();
  if (!file.size) return `${file.name}: the file is empty (0 bytes)`;
  if (suffix === "toml") {
    return `${file.name}: a TOML file, not audio; a MIDI map goes into the page at export ` +
           "(soundstage export-plugin CHAIN --format web --map MAP.toml), a chain file becomes a page of its own";
  }
  if (["mid", "midi", "smf"].includes(suffix)) {
    return `${file.name}: a MIDI file, not audio; its automation renders from the command line ` +
           `(soundstage process IN.wav OUT.wav --chain CHAIN --midi "${file.name}" --map MAP.toml), ` +
           "or play a controller here (MIDI)";
  }
  return `${file.name}: this browser cannot decode it; convert it to WAV first (ffmpeg -i "${file.name}" out.wav)`;
}

async function open(file) {
  fail("");
  try {
    await ensureContext();
    const decoded = await state.context.decodeAudioData(await file.arrayBuffer()).catch(() => {
      throw new Error(notAudio(file));
    });
    const buffer = fitted(decoded, file.name);
    stopSource();
    state.playing = false;
    state.buffer = buffer;
    state.offset = 0;
    state.file = file.name;
    document.getElementById("loaded").textContent =
      `${file.name}: ${buffer.duration.toFixed(1)} s, ${decoded.numberOfChannels} channel(s), played at ${config.rate} Hz`;
    document.getElementById("play").disabled = false;
    document.getElementById("seek").disabled = false;
    document.getElementById("download").disabled = false;
    document.getElementById("seek").max = String(buffer.duration);
    showTransport();
    match();
  } catch (error) {
    fail(String(error.message || error));
  }
}

function showTransport() {
  document.getElementById("play").textContent = `${state.playing ? "pause" : "play"} (space)`;
  const t = position();
  document.getElementById("position").textContent = `${t.toFixed(1)} s`;
  if (document.activeElement !== document.getElementById("seek")) document.getElementById("seek").value = String(t);
}

// A node that meters the momentary and short-term loudness of its (two-channel) input; `heard(message)` gets
// {unit, momentary, shortTerm} every 100 ms.
function loudnessNode(context, heard) {
  const node = new AudioWorkletNode(context, "soundstage-loudness", {
    numberOfInputs: 1, numberOfOutputs: 0, channelCount: 2, channelCountMode: "explicit", channelInterpretation: "discrete",
    processorOptions: { sections: config.k_weighting },
  });
  node.port.onmessage = (event) => heard(event.data);
  return node;
}

function showLoudness(reading) {
  const text = (lufs) => (Number.isFinite(lufs) && lufs > -70 ? lufs.toFixed(1) : "-inf");
  document.getElementById("loudness").textContent =
    `momentary ${text(reading.momentary)} LUFS, short-term ${text(reading.shortTerm)} LUFS`;
}

// The meter's last reading of `channels` (two Float32Arrays at config.rate), metered offline, as it meters playback.
async function meterOffline(channels) {
  const context = new OfflineAudioContext(2, channels[0].length, config.rate);
  await ensureWorklet(context);
  const units = Math.floor(channels[0].length / Math.max(1, Math.floor(0.1 * config.rate)));
  let last = null, done = null;
  const finished = new Promise((resolve) => { done = resolve; });
  const node = loudnessNode(context, (reading) => { last = reading; if (reading.unit === units) done(); });
  const buffer = context.createBuffer(2, channels[0].length, config.rate);
  channels.forEach((samples, c) => buffer.copyToChannel(samples, c));
  const source = new AudioBufferSourceNode(context, { buffer });
  source.connect(node);
  source.start();
  await context.startRendering();
  await Promise.race([finished, new Promise((resolve) => setTimeout(resolve, 2000))]);
  return last;
}
state.meterOffline = meterOffline;

const meterData = new Float32Array(2048);  // the analyzers' last 2048 samples, read every animation frame
function meter() {
  let peak = 0;
  const data = meterData;
  state.analyzers.forEach((analyzer, c) => {
    analyzer.getFloatTimeDomainData(data);
    let p = 0;
    for (const v of data) p = Math.max(p, Math.abs(v));
    peak = Math.max(peak, p);
    const db = 20 * Math.log10(p || 1e-9);
    document.getElementById(c ? "meter-r" : "meter-l").style.width = `${Math.max(0, Math.min(100, (db + 60) / 60 * 100))}%`;
  });
  const db = 20 * Math.log10(peak || 1e-9);
  document.getElementById("peak").textContent = db < -120 ? "-inf dBFS" : `${db.toFixed(1)} dBFS`;
  if (state.playing) showTransport();
  requestAnimationFrame(meter);
}

function knobRow(p, index) {
  const row = document.createElement("tr");
  const name = document.createElement("td");
  name.textContent = p.name;
  name.title = p.path;  // the knob in the chain file
  const control = document.createElement("td");
  let input;
  if (p.choices.length) {
    input = document.createElement("select");
    p.choices.forEach((label, i) => input.add(new Option(label, String(i))));
    input.value = String(Math.round(p.default));
    input.onchange = () => { setKnob(index, Number(input.value)); handMoved(index); };
  } else if (p.kind === "boolean") {
    input = document.createElement("input");
    input.type = "checkbox";
    input.checked = p.default > 0.5;
    input.onchange = () => { setKnob(index, input.checked ? 1 : 0); handMoved(index); };
  } else {
    input = document.createElement("input");  // the knob's position, 0..1 along its scale
    input.type = "range";
    input.min = "0";
    input.max = "1";
    input.step = "any";
    input.value = String(positionOf(p, p.default));
    input.oninput = () => { setKnob(index, valueAt(p, Number(input.value)), input); handMoved(index); };
  }
  input.id = `knob-${index}`;
  input.ondblclick = () => { setKnob(index, p.default); handMoved(index); };
  control.appendChild(input);
  const value = document.createElement("td");
  value.className = "value";
  value.id = `value-${index}`;
  const learn = document.createElement("td");
  const button = document.createElement("button");
  button.dataset.learn = String(index);
  learn.appendChild(button);
  row.append(name, control, value, learn);
  return row;
}

function setUp() {
  document.title = `${config.name} (soundstage)`;
  document.getElementById("title").textContent = config.name;
  const fixed = config.fixed.length ? `; fixed at export: ${config.fixed.join(", ")}` : "";
  document.getElementById("about").textContent =
    `${config.description}: ${config.inputs} in, ${config.outputs} out, at ${config.rate} Hz; ` +
    `latency ${config.latency} samples (${(1000 * config.latency / config.rate).toFixed(1)} ms)${fixed}`;
  document.getElementById("chain").textContent = config.chain;
  const body = document.querySelector("#knobs tbody");
  config.parameters.forEach((p, index) => { body.appendChild(knobRow(p, index)); setKnob(index, p.default); });
  if (!config.parameters.length) body.innerHTML = '<tr><td class="muted">this chain has no knobs</td></tr>';
  setUpMidi();
  const listen = document.getElementById("listen");
  listenChoices().forEach(([value, label]) => listen.add(new Option(label, value)));
  document.getElementById("listen-row").hidden = config.outputs <= 2;
  listen.onchange = () => { state.listen = listen.value; if (state.context) connectMonitor(); };
  document.getElementById("file").onchange = (event) => { if (event.target.files[0]) open(event.target.files[0]); };
  const drop = document.getElementById("drop");
  drop.ondragover = (event) => { event.preventDefault(); drop.classList.add("over"); };
  drop.ondragleave = () => drop.classList.remove("over");
  drop.ondrop = (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    if (event.dataTransfer.files[0]) open(event.dataTransfer.files[0]);
  };
  document.getElementById("play").onclick = play;
  document.getElementById("download").onclick = download;
  document.getElementById("save-chain").hidden = !config.chain_file || !config.parameters.length;
  document.getElementById("save-chain").onclick = saveChain;
  document.getElementById("bypass").onclick = () => { setBypass(!state.bypass); handMoved("bypass"); };
  for (const id of ["ab", "ab-help", "ab-learn"]) document.getElementById(id).hidden = !config.reference;
  for (const id of ["match", "matching"]) document.getElementById(id).hidden = !matchable();
  document.getElementById("matching").onclick = () => setMatching(!state.matching);
  document.getElementById("ab").onclick = () => { setSide(state.side === "device" ? "reference" : "device"); handMoved("ab"); };
  const loop = document.getElementById("loop");
  loop.onclick = () => {
    state.loop = !state.loop;
    loop.textContent = `loop: ${state.loop ? "on" : "off"} (l)`;
    loop.classList.toggle("on", state.loop);
    if (state.playing) seek(position());
  };
  document.getElementById("seek").oninput = (event) => seek(Number(event.target.value));
  document.addEventListener("keydown", (event) => {
    if (event.target.tagName === "INPUT" && event.target.type !== "range") return;
    if (event.key === " ") { event.preventDefault(); play(); }
    else if (event.key === "b") document.getElementById("bypass").onclick();
    else if (event.key === "m" && matchable()) setMatching(!state.matching);
    else if (event.key === "a" && config.reference) document.getElementById("ab").onclick();
    else if (event.key === "l") loop.onclick();
  });
}
