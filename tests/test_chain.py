"""Chain: list behavior, channel checks, pedalboard groups, latency, routing — with real VST3s."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pedalboard
import pytest

from helpers import Lookahead, PassThrough, Split3, Tilt, rms_db, sine
from soundstage import (
    Chain,
    ChainError,
    ChannelError,
    Gain,
    OnChannels,
    Parallel,
    PerChannel,
    Route,
    load_chain,
    load_plugin,
)
from soundstage.host.external import external_parameters
from soundstage.host.nodes import PedalboardStep

SR = 48000


def impulse(channels: int = 2, length: int = 6000, at: int = 1000) -> np.ndarray:
    x = np.zeros((channels, length), np.float32)
    x[:, at] = 1.0
    return x


# -- list behavior ------------------------------------------------------------------


def test_list_api_like_pedalboard() -> None:
    gain, tilt = Gain(), Tilt()
    chain = Chain([gain])
    chain.append(tilt)
    chain.insert(0, PassThrough())
    assert len(chain) == 3 and list(chain) == [chain[0], gain, tilt]
    assert chain.index(tilt) == 2 and chain["gain"] is gain
    assert chain.names == ["pass_through", "gain", "tilt"]
    chain.append(Gain())
    assert chain.names[-1] == "gain_2"
    assert chain.pop() is not gain and len(chain) == 3
    chain.remove(gain)
    assert chain.names == ["pass_through", "tilt"]
    chain[0] = Gain(gain_db=-1.0)
    assert chain.names == ["gain", "tilt"]
    del chain[0]
    assert len(chain) == 1
    with pytest.raises(ChainError, match="already has a node named 'tilt'"):
        chain.append(Gain(), name="tilt")
    with pytest.raises(TypeError, match="a Chain holds soundstage processors and pedalboard plugins, got int"):
        chain.append(3)


def test_parameter_paths() -> None:
    inner = Chain([Gain(gain_db=-2.0)], names=["trim"])
    chain = Chain([pedalboard.Compressor(threshold_db=-10), inner], names=["comp", "bus"])
    assert chain.parameter("comp.threshold_db").value == -10.0
    assert chain.parameter("bus.trim.gain_db").value == -2.0
    assert chain.parameter("0.ratio").value == 1.0
    chain.parameter("bus.trim.gain_db").normalized = 1.0
    assert inner[0].gain_db == 24.0
    with pytest.raises(ChainError, match=r"no parameter 'threshold'.*did you mean 'threshold_db'"):
        chain.parameter("comp.threshold")
    with pytest.raises(ChainError, match=r"no node named 'compp'.*did you mean 'comp'"):
        chain.parameter("compp.ratio")


def test_consecutive_pedalboard_plugins_run_as_one_board(stereo_gain_path: Path) -> None:
    vst = load_plugin(stereo_gain_path)
    chain = Chain([pedalboard.HighpassFilter(), vst, pedalboard.Gain(), Gain(), pedalboard.Reverb()])
    chain(np.zeros((2, 1000), np.float32), SR)
    steps = chain._steps or []
    groups = [len(step.plugins) for step in steps if isinstance(step, PedalboardStep)]
    assert groups == [3, 1] and len(steps) == 3


# -- channel checks -------------------------------------------------------------------


def test_channel_error_names_node_position_counts_and_fix(stereo_gain_path: Path, mono_path: Path) -> None:
    vst = load_plugin(stereo_gain_path)
    with pytest.raises(
        ChannelError,
        match=r"'ss_test_gain' \(chain\[1\]\) takes 2 channel\(s\), but gets 3 from 'split3' \(chain\[0\]\); run it on 2 of the 3 channels with OnChannels\(SS Test Gain, channels=\[0, 1\]\)",
    ):
        Chain([Split3(), vst])
    chain = Chain([Split3()])
    with pytest.raises(ChannelError, match=r"PerChannel\(SS Test Mono\)"):
        chain.append(load_plugin(mono_path))
    assert len(chain) == 1  # the failed append was rolled back
    with pytest.raises(
        ChannelError,
        match=r"takes 2 channel\(s\), but gets 1 from the chain input; make 2 channels first, e.g. Route\(channels=\[0, 0\]\)",
    ):
        Chain([vst])(np.zeros((1, 100), np.float32), SR)
    with pytest.raises(  # a mono EQ ahead of a stereo limiter on a stereo bus: the mono plugin is what to wrap
        ChannelError,
        match=r"'ss_test_gain' \(chain\[1\]\) takes 2 channel\(s\), but gets 1 from 'ss_test_mono' \(chain\[0\]\); "
        r"run SS Test Mono once per channel with PerChannel\(SS Test Mono\), or make 2 channels first",
    ):
        Chain([load_plugin(mono_path), vst])


# -- block-size invariance and latency with real plugins ---------------------------------


def mixed_chain(stereo_gain_path: Path, mono_path: Path) -> Chain:
    vst = load_plugin(stereo_gain_path)
    external_parameters(vst)["gain_db"].value = -3.0
    external_parameters(vst)["delay_samples"].value = 100
    mono = load_plugin(mono_path)
    external_parameters(mono)["smoothing"].value = 0.5
    return Chain(
        [
            Tilt(amount=0.6),
            pedalboard.LowShelfFilter(cutoff_frequency_hz=200, gain_db=3.0),
            vst,
            pedalboard.Compressor(threshold_db=-20, ratio=3),
            Lookahead(delay_samples=37),
            PerChannel(mono),
            Gain(gain_db=-1.5),
            pedalboard.Reverb(room_size=0.3),
        ]
    )


def test_block_size_invariance_with_builtins_and_vst3(stereo_gain_path: Path, mono_path: Path, noise: np.ndarray) -> None:
    chain = mixed_chain(stereo_gain_path, mono_path)
    reference = chain(noise, SR)
    assert reference.shape == noise.shape
    for buffer_size in (64, 256, 1000, 8192):
        out = chain(noise, SR, buffer_size=buffer_size)
        assert np.abs(out - reference).max() <= 1e-6, buffer_size
    cuts = [0, 3, 500, 777, 4096, 10000, 10001, noise.shape[1]]
    parts = [chain.process(noise[:, a:b], SR, buffer_size=256, reset=False) for a, b in zip(cuts, cuts[1:])]
    streamed = np.concatenate([*parts, chain.flush()], axis=1)
    assert streamed.shape == reference.shape
    assert np.abs(streamed - reference).max() <= 1e-6


@pytest.mark.parametrize("kind", ["HighpassFilter", "LowpassFilter"])
def test_a_first_order_filter_above_half_the_rate_runs_clamped_not_infinite(kind: str) -> None:
    """pedalboard's first-order filters are unstable with a cutoff above half the sample rate (a chain made for 48 kHz,
    its low-pass at 23 kHz, run at 44.1 kHz; a knob at the top of its range, 24 kHz): pedalboard alone gives inf, and
    soundstage wrote a file of it. The chain runs them at 100 Hz below half the rate, as pedalboard clamps its other
    filters; the knob keeps its value."""
    rate = 44100.0
    x = np.random.default_rng(3).standard_normal((2, 22050)).astype(np.float32) * 0.1
    plugin = getattr(pedalboard, kind)(cutoff_frequency_hz=24000.0)
    assert not np.isfinite(getattr(pedalboard, kind)(cutoff_frequency_hz=24000.0)(x, rate)).all()  # pedalboard alone
    out = Chain([plugin])(x, rate)
    clamped = Chain([getattr(pedalboard, kind)(cutoff_frequency_hz=rate / 2 - 100.0)])(x, rate)
    assert np.isfinite(out).all() and np.array_equal(out, clamped)
    assert plugin.cutoff_frequency_hz == 24000.0
    below = Chain([getattr(pedalboard, kind)(cutoff_frequency_hz=20000.0)])(x, rate)  # below the top: untouched
    assert np.array_equal(below, getattr(pedalboard, kind)(cutoff_frequency_hz=20000.0)(x, rate))  # latency compensated


@pytest.mark.parametrize("buffer_size", [128, 256, 1000, 4096, 8192, 65536])
def test_impulse_stays_in_place_whatever_the_latencies(stereo_gain_path: Path, buffer_size: int) -> None:
    vst = load_plugin(stereo_gain_path)
    external_parameters(vst)["delay_samples"].value = 100
    chain = Chain([PassThrough(), vst, pedalboard.Gain(gain_db=0.0), Lookahead(delay_samples=300)])
    x = impulse(length=70000)
    out = chain(x, SR, buffer_size=buffer_size)
    queue = PedalboardStep.BLOCK - 1  # the pedalboard group's block queue, compensated like the rest
    assert chain.member_latencies() == [0, 100 + queue, 0, 300] and chain.latency_samples == 400 + queue
    assert out.shape == x.shape
    assert int(np.argmax(np.abs(out[0]))) == 1000 and int(np.argmax(np.abs(out[1]))) == 1000
    assert out[0, 1000] == pytest.approx(1.0, abs=1e-6)


# -- routing ------------------------------------------------------------------------------


def test_routing_two_to_three_then_stereo_vst3_and_mono_plugin(stereo_gain_path: Path, mono_path: Path) -> None:
    vst = load_plugin(stereo_gain_path)
    external_parameters(vst)["gain_db"].value = -6.0
    external_parameters(vst)["delay_samples"].value = 64
    mono = load_plugin(mono_path)
    external_parameters(mono)["gain_db"].value = -12.0
    chain = Chain([Split3(), OnChannels(vst, channels=[0, 1]), OnChannels(mono, channels=[2])])
    left = sine(500.0, SR, 0.5, amplitude=0.5, channels=1)[0]
    right = sine(1500.0, SR, 0.5, amplitude=0.25, channels=1)[0]
    x = np.stack([left, right])
    out = chain(x, SR)
    assert out.shape == (3, x.shape[1])
    # expected numbers: L, R at -6 dB; C = (L+R)/2 at -12 dB; all aligned despite the VST's 64-sample latency
    np.testing.assert_allclose(out[0], left * 10 ** (-6 / 20), atol=2e-6)
    np.testing.assert_allclose(out[1], right * 10 ** (-6 / 20), atol=2e-6)
    np.testing.assert_allclose(out[2], 0.5 * (left + right) * 10 ** (-12 / 20), atol=2e-6)
    with pytest.raises(ChannelError, match=r"gets 3 from 'split3' \(chain\[0\]\); run it on 2 of the 3 channels with OnChannels"):
        Chain([Split3(), vst, mono])


def test_per_channel_instances_are_independent_and_follow_the_parameters(mono_path: Path) -> None:
    mono = load_plugin(mono_path)
    external_parameters(mono)["smoothing"].value = 0.9
    node = PerChannel(mono)
    x = np.zeros((2, 2000), np.float32)
    x[0, 10] = 1.0  # only the left channel gets an impulse
    out = node(x, SR)
    assert np.abs(out[1]).max() == 0.0  # a shared instance would smear the left state into the right
    assert out[0, 10] == pytest.approx(0.1, rel=1e-5) and out[0, 11] == pytest.approx(0.09, rel=1e-4)
    node.parameters["gain_db"].value = -6.0
    out = node(np.ones((2, 4000), np.float32), SR)
    np.testing.assert_allclose(out[:, -1], [10 ** (-6 / 20)] * 2, rtol=1e-4)


def test_route_select_reorder_duplicate() -> None:
    x = np.stack([np.full(100, 1.0), np.full(100, 2.0), np.full(100, 3.0)]).astype(np.float32)
    out = Route(channels=[2, 0, 0])(x, SR)
    np.testing.assert_array_equal(out[:, 0], [3.0, 1.0, 1.0])
    with pytest.raises(
        ChannelError, match=r"Route\(channels=\[0, 3\]\) reads channel 3, so it needs at least 4 input channels, got 3"
    ):
        Chain([Route(channels=[0, 3])])(x, SR)


def test_parallel_sums_latency_aligned_branches(stereo_gain_path: Path) -> None:
    vst = load_plugin(stereo_gain_path)
    external_parameters(vst)["delay_samples"].value = 250
    node = Parallel([[Gain(gain_db=-6.0)], [vst, Gain(gain_db=-6.0)], [Lookahead(delay_samples=40)]])
    out = node(impulse(), SR)
    assert node.latency_samples == 250 + PedalboardStep.BLOCK - 1
    # three unit impulses (two at -6 dB) add up at the same sample
    assert out[0, 1000] == pytest.approx(2 * 10 ** (-6 / 20) + 1.0, abs=1e-5)
    assert np.abs(np.delete(out[0], 1000)).max() < 1e-7
    with pytest.raises(ChannelError, match=r"different channel counts \[2, 3\]"):
        Parallel([[PassThrough()], [Split3()]])(impulse(), SR)


def test_vst3_gain_through_the_parameter_view(stereo_gain_path: Path) -> None:
    vst = load_plugin(stereo_gain_path)
    parameter = Chain([vst]).parameter("ss_test_gain.gain_db")
    parameter.value = -12.0
    assert parameter.value == pytest.approx(-12.0, abs=0.01)
    x = sine(1000.0, SR, 1.0, amplitude=0.5)
    measured = rms_db(vst(x, SR)) - rms_db(x)
    assert measured == pytest.approx(-12.0, abs=0.05)
    # pedalboard's own setter would have snapped to its 1000-step grid: -11.976 dB
    vst.gain_db = -12.0
    assert abs(float(vst.gain_db) + 12.0) > 0.01


def test_latency_is_exact_before_the_first_call(stereo_gain_path: Path) -> None:
    vst = load_plugin(stereo_gain_path)
    external_parameters(vst)["delay_samples"].value = 100
    chain = Chain(
        [pedalboard.Reverb(), Lookahead(delay_samples=300), vst, pedalboard.Gain(gain_db=0.0), PassThrough(), pedalboard.Chorus()]
    )
    before = chain.latency_samples  # what a streaming user reads first
    chain(impulse(length=8000), SR)
    print(f"latency before the first call {before}, after {chain.latency_samples}")
    assert before == chain.latency_samples == 300 + 100 + 3 * (PedalboardStep.BLOCK - 1)


# -- taps ---------------------------------------------------------------------------


def test_a_tap_gives_what_the_chains_first_nodes_give_alone(noise: np.ndarray) -> None:
    """Streamed in uneven blocks with automation on the tapped nodes, the tap after node 2 of a latent, stateful
    chain equals the chain of those two nodes alone to the last bit (automation after them too), compensated for their latency (300 samples),
    not the whole chain's (300 + 700)."""
    from soundstage.host.automation import AutomatedStream

    def nodes() -> list[object]:
        return [Lookahead(delay_samples=300), Tilt(amount=0.3), Lookahead(delay_samples=700), Tilt(amount=0.8)]

    events = [(5000, "tilt.amount", 0.9), (12001, "tilt.amount", 0.1)]
    whole = Chain(nodes())
    tap = whole.tap(2)
    stream = AutomatedStream(whole, SR, [*events, (7000, "tilt_2.amount", 0.2)])
    heard = []
    for start, stop in [(0, 1), (1, 4097), (4097, 9000), (9000, noise.shape[1])]:
        stream.process(noise[:, start:stop])
        heard.append(tap.take())
    stream.flush()
    heard.append(tap.take())
    assert heard[0] is None  # one sample in: still inside the tapped nodes' 300 samples of latency
    got = np.concatenate([piece for piece in heard if piece is not None], axis=1)
    alone = AutomatedStream(Chain(nodes()[:2]), SR, events)
    expected = np.concatenate([alone.process(noise), alone.flush()], axis=1)
    assert got.shape[1] >= noise.shape[1] == expected.shape[1]
    assert np.array_equal(got[:, : noise.shape[1]], expected)
    assert np.abs(got[:, : noise.shape[1]] - noise).max() > 0.01  # the tilt was heard, not the input


def test_a_tap_goes_between_nodes_and_before_the_stream() -> None:
    chain = Chain([pedalboard.Gain(gain_db=-1), pedalboard.Gain(gain_db=-2), Gain(gain_db=-3)])
    with pytest.raises(ChainError, match="cannot tap this chain after 1 node"):
        chain.tap(1)  # the two pedalboard plugins run as one board
    for bad in (0, 4):
        with pytest.raises(ChainError, match=f"after {bad} node"):
            chain.tap(bad)
    tap = chain.tap(2)
    x = sine(1000.0, SR, 0.5)
    out = chain.process(x, SR)
    first = tap.take()
    assert first is not None and first.shape[1] >= x.shape[1]
    np.testing.assert_allclose(first[:, : x.shape[1]] * 10 ** (-3 / 20), out, atol=1e-6)
    chain.process(x[:, :1000], SR, reset=False)
    with pytest.raises(ChainError, match="before it streams"):
        chain.tap(3)


@pytest.mark.parametrize(
    ("downmix", "left", "right"),
    [
        # per input channel, its level (dB) in Lo and Ro; None: not there. ITU-R BS.775: center and surrounds -3 dB
        ("5.1", [0.0, None, -3.01, None, -3.01, None], [None, 0.0, -3.01, None, None, -3.01]),
        ("7.1", [0.0, None, -3.01, None, -3.01, None, -3.01, None], [None, 0.0, -3.01, None, None, -3.01, None, -3.01]),
    ],
)
def test_a_fold_down_puts_each_channel_where_bs775_says(downmix: str, left: list, right: list) -> None:
    from soundstage import Mix

    channels = len(left)
    clicks = np.zeros((channels, channels * 100), np.float32)
    for channel in range(channels):
        clicks[channel, channel * 100 + 10] = 0.5
    out = Mix(downmix=downmix)(clicks, 48000, buffer_size=37)  # blocks that split the clicks' spacing
    assert out.shape == (2, channels * 100)
    for channel in range(channels):
        for row, expected in ((0, left[channel]), (1, right[channel])):
            got = out[row, channel * 100 + 10]
            if expected is None:
                assert abs(got) < 1e-9, (downmix, channel, row)
            else:
                assert 20 * np.log10(got / 0.5) == pytest.approx(expected, abs=0.005), (downmix, channel, row)
    assert np.count_nonzero(out) == sum(v is not None for v in left + right)


def test_a_mix_in_a_chain_file_and_its_refusals(tmp_path: Path) -> None:
    from soundstage import ChainFileError, Mix, load_chain, save_chain

    chain = Chain([Mix(downmix="5.1"), Mix(matrix=[[1.0, 0.0], [0.0, 0.5], [0.5, 0.5]])])
    save_chain(chain, tmp_path / "fold.toml")
    text = (tmp_path / "fold.toml").read_text()
    assert 'downmix = "5.1"' in text and "matrix" in text
    loaded = load_chain(tmp_path / "fold.toml")
    audio = np.random.default_rng(4).standard_normal((6, 4800)).astype(np.float32)
    assert np.array_equal(loaded(audio, 48000), chain(audio, 48000))
    assert loaded(audio, 48000).shape == (3, 4800)
    bad = {
        'downmix = "5.0"': r"fold\.toml: stages\[0\]\.downmix: .*'5\.1'.*'7\.1'",
        "matrix = [[1.0, 0.0], [1.0]]": r"stages\[0\]: Mix: matrix=\[\[1\.0, 0\.0\], \[1\.0\]\]: every row must have one gain per input",
        "matrix = []": r"stages\[0\]\.matrix",
        'downmix = "5.1"\nmatrix = [[1.0]]': r"stages\[0\]: Mix: give matrix=.* or downmix=.*, one of them",
    }
    for body, message in bad.items():
        (tmp_path / "fold.toml").write_text(f'[[stages]]\ntype = "mix"\n{body}\n')
        with pytest.raises(ChainFileError, match=message) as raised:
            load_chain(tmp_path / "fold.toml")
        assert "\n" not in str(raised.value)
    with pytest.raises(ChannelError, match=r"Mix \(a 5\.1 fold-down\) takes 6 input channels, got 2"):
        Mix(downmix="5.1")(np.zeros((2, 100), np.float32), 48000)
    with pytest.raises(ChannelError, match=r"takes 6 channel\(s\), but gets 2 from the chain input; it folds a 5\.1 bed"):
        Chain([Mix(downmix="5.1")])(np.zeros((2, 100), np.float32), 48000)


def test_a_plugin_whose_program_is_slow_to_load_loads_without_loading_it_a_thousand_times(
    programs_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plugin with one program that takes 20 ms to load (as ZamVerb's, which loads an impulse response): pedalboard
    learns its "Current Program" by setting it to 1001 values and back, 2002 loads as it makes the plugin (40 s here,
    ZamVerb's 100 s). soundstage's load reads such a parameter at as many values as fit in 2 s (each read 40 ms: at
    most 51, 102 loads), and the plugin's parameters come out as pedalboard reads them: the program a choice of its
    one name, the gain a number in dB, each set as a chain file says."""
    log = tmp_path / "loads.txt"
    monkeypatch.setenv("SSPROGRAMS_LOG", str(log))
    plugin = load_plugin(programs_path)
    loads = log.read_text().count("loaded\n")
    print(f"\nprogram loads as soundstage loads the plugin: {loads} (pedalboard alone: 2002)")
    assert 0 < loads <= 2 * 51 + 4
    view = external_parameters(plugin)
    assert view["current_program"].spec.choices == ("Default",) and view["current_program"].value == "Default"
    assert (view["gain_db"].spec.kind, view["gain_db"].spec.minimum, view["gain_db"].spec.maximum) == ("float", -24.0, 12.0)
    chain_file = tmp_path / "chain.toml"
    chain_file.write_text(
        f'format = 1\n[[stages]]\ntype = "plugin"\npath = "{programs_path}"\nparameters = {{ gain_db = -6.0 }}\n'
    )
    tone = sine(1000.0, 48000, 0.5)
    assert rms_db(load_chain(chain_file)(tone, 48000.0)) - rms_db(tone) == pytest.approx(-6.0, abs=0.01)
    given = load_plugin(programs_path, parameter_values={"gain_db": -12.0})
    assert rms_db(given(tone, 48000.0)) - rms_db(tone) == pytest.approx(-12.0, abs=0.01)
