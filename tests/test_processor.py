"""The Processor contract: pedalboard's call signature, shapes, latency, parameters, smoothing."""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest

from helpers import Lookahead, PassThrough, Split3, Tilt, rms_db, sine
from soundstage import AudioInputError, ChannelError, Gain, ParameterError, StreamError

SR = 48000


# -- the call contract ----------------------------------------------------------


def test_call_is_process_and_returns_float32_channels_first(noise: np.ndarray) -> None:
    gain = Gain(gain_db=-6.0)
    out = gain(noise, SR)
    assert out.dtype == np.float32 and out.shape == noise.shape
    np.testing.assert_array_equal(out, gain.process(noise, SR, buffer_size=8192, reset=True))


def test_mono_1d_and_float64_are_accepted() -> None:
    x = np.linspace(-0.5, 0.5, 1000)  # float64, 1-D
    out = Gain(gain_db=-20.0)(x, SR)
    assert out.shape == (1, 1000) and out.dtype == np.float32
    np.testing.assert_allclose(out[0], 0.1 * x, rtol=1e-6, atol=1e-7)


def test_one_sample() -> None:
    out = Gain(gain_db=6.0)(np.array([[0.25], [0.5]]), SR)
    np.testing.assert_allclose(out[:, 0], [0.25 * 1.99526, 0.5 * 1.99526], rtol=1e-5)


def test_empty_input_is_an_error() -> None:
    with pytest.raises(AudioInputError, match=r"shape \(2, 0\) is empty"):
        Gain()(np.zeros((2, 0), np.float32), SR)


def test_square_shape_is_ambiguous() -> None:
    with pytest.raises(AudioInputError, match=r"shape \(2, 2\) is ambiguous"):
        Gain()(np.zeros((2, 2), np.float32), SR)


def test_transposed_array_is_named() -> None:
    with pytest.raises(AudioInputError, match=r"shape \(48000, 2\) looks like \(samples, channels\).*audio\.T"):
        Gain()(np.zeros((48000, 2), np.float32), SR)
    with pytest.raises(AudioInputError, match=r"shape \(5, 2\) looks like"):
        Split3()(np.zeros((5, 2), np.float32), SR)


def test_non_finite_sample_is_located() -> None:
    x = np.zeros((2, 100), np.float32)
    x[1, 37] = np.nan
    with pytest.raises(AudioInputError, match=r"nan at channel 1, sample 37"):
        Gain()(x, SR)
    x[1, 37] = 0
    x[0, 5] = np.inf
    with pytest.raises(AudioInputError, match=r"inf at channel 0, sample 5"):
        Gain()(x, SR)


def test_wrong_dtype_and_rate() -> None:
    with pytest.raises(TypeError, match="float array"):
        Gain()(np.array(["a", "b"]), SR)
    # integer PCM (scipy.io.wavfile.read, soundfile's dtype="int16") was processed as floats 32767 times too loud
    pcm = (np.sin(np.arange(4800) / 10.0) * 16000).astype(np.int16)
    with pytest.raises(TypeError, match=r"^Gain: audio is int16 \(integer PCM\); .* pass audio / 2\*\*15$"):
        Gain()(np.stack([pcm, pcm]), SR)
    with pytest.raises(TypeError, match=r"pass \(audio - 2\*\*7\) / 2\*\*7$"):
        Gain()(np.full((2, 100), 128, np.uint8), SR)
    with pytest.raises(AudioInputError, match=r"sample_rate=-1"):
        Gain()(np.zeros(10), -1)


def test_channel_count_checked() -> None:
    with pytest.raises(ChannelError, match="Split3 expects 2 input channels, got 3"):
        Split3()(np.zeros((3, 100), np.float32), SR)


# -- parameters -------------------------------------------------------------------


def test_parameters_are_attributes_and_keywords_and_validated() -> None:
    gain = Gain(gain_db=-3.0)
    assert gain.gain_db == -3.0
    gain.gain_db = 6
    assert gain.gain_db == 6.0 and isinstance(gain.gain_db, float)
    with pytest.raises(ParameterError, match=r"Gain.gain_db=99.0 is outside -96..24 dB"):
        gain.gain_db = 99.0
    with pytest.raises(ParameterError, match=r"Tilt has no parameter 'amont'; did you mean 'amount'"):
        Tilt(amont=0.5)
    with pytest.raises(ParameterError, match=r"did you mean 'gain_db'"):
        gain.gain_bd = 1.0
    with pytest.raises(TypeError, match=r"expected a number"):
        gain.gain_db = "loud"  # type: ignore[assignment]


def test_repr_shows_non_default_parameters() -> None:
    assert repr(Gain()) == "<Gain>"
    assert repr(Gain(gain_db=-3.0, invert=True)) == "<Gain gain_db=-3.0 invert=True>"


def test_reset_clears_state_and_keeps_parameters(noise: np.ndarray) -> None:
    tilt = Tilt(amount=0.9)
    first = tilt(noise, SR)
    tilt.process(noise, SR, reset=False)  # leave state behind
    tilt.reset()
    assert tilt.amount == 0.9
    np.testing.assert_array_equal(tilt.process(noise, SR, reset=False), first)


def test_parameter_change_ramps_without_a_click() -> None:
    gain = Gain(gain_db=0.0)
    x = np.ones((1, 4800), np.float32)
    gain.process(x, SR, reset=True)
    gain.process(x[:, :480], SR, reset=False)
    gain.gain_db = -20.0
    out = gain.process(x, SR, reset=False)[0]
    ramp = int(0.020 * SR)  # 20 ms smoothing
    # the dB ramp is linear: the largest step between samples is the first one of the ramp
    largest_allowed = 1.0 - 10 ** (-20.0 / 20 / ramp) + 1e-6
    assert np.abs(np.diff(out)).max() <= largest_allowed
    assert out[0] < 1.0 and abs(out[ramp - 1] - 0.1) < 1e-5 and abs(out[-1] - 0.1) < 1e-6
    # before the ramp reaches its end it is still above the target: it did not jump
    assert out[ramp // 2] > 0.2


# -- block-size invariance and latency ---------------------------------------------


@pytest.mark.parametrize(
    "make", [lambda: Gain(gain_db=-4.0), lambda: Tilt(amount=0.7), lambda: Lookahead(delay_samples=37), Split3, PassThrough]
)
def test_block_size_invariance(make, noise: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    reference = make()(noise, SR)
    for buffer_size in (7, 64, 256, 8192):
        np.testing.assert_allclose(make()(noise, SR, buffer_size=buffer_size), reference, atol=1e-6)
    stage = make()
    cuts = [0, 5, 300, 301, 4000, 11111, noise.shape[1]]
    parts = [stage.process(noise[:, a:b], SR, buffer_size=64, reset=False) for a, b in zip(cuts, cuts[1:])]
    streamed = np.concatenate([*parts, stage.flush()], axis=1)
    np.testing.assert_allclose(streamed, reference, atol=1e-6)


def test_latency_is_compensated_with_reset_true() -> None:
    x = np.zeros((2, 4000), np.float32)
    x[:, 1000] = 1.0
    stage = Lookahead(delay_samples=300)
    assert stage.latency_samples == 300
    for buffer_size in (1, 128, 8192):
        out = stage(x, SR, buffer_size=buffer_size)
        assert out.shape == x.shape and int(np.argmax(out[0])) == 1000


def test_streaming_returns_fewer_samples_then_flush_returns_the_tail() -> None:
    stage = Lookahead(delay_samples=300)
    x = np.zeros((2, 1000), np.float32)
    x[:, 10] = 1.0
    first = stage.process(x[:, :200], SR, reset=False)
    second = stage.process(x[:, 200:], SR, reset=False)
    assert first.shape[1] == 0 and second.shape[1] == 700
    tail = stage.flush()
    assert tail.shape == (2, 300)
    assert int(np.argmax(np.concatenate([first, second, tail], axis=1)[0])) == 10
    assert stage.flush().shape == (2, 0)


def test_stream_cannot_change_rate_or_channels() -> None:
    gain = Gain()
    gain.process(np.zeros((2, 100), np.float32), SR, reset=False)
    with pytest.raises(StreamError, match=r"44100 Hz.*pass reset=True"):
        gain.process(np.zeros((2, 100), np.float32), 44100, reset=False)


def test_gain_is_exact_on_a_sine() -> None:
    for rate in (44100, 48000, 96000):
        x = sine(997.0, rate, 0.5)
        out = Gain(gain_db=-12.0)(x, rate)
        assert rms_db(out) - rms_db(x) == pytest.approx(-12.0, abs=0.01)


def test_memoised_designs_survive_threads_sharing_a_stage() -> None:
    """Threads asking one stage for designs at once (a render and its figures) never see a KeyError or a
    RuntimeError from the memo, and each gets the design of the rate it asked for."""
    stage = Gain()
    errors: list[BaseException] = []
    wrong: list[tuple[float, float]] = []

    def ask(offset: int) -> None:
        try:
            for i in range(3000):
                rate = float(8000 + (i * 7 + offset) % 40)  # more keys than the memo keeps: evictions race
                got = stage._memoised(rate, lambda sample_rate: sample_rate)
                if got != rate:
                    wrong.append((rate, got))
        except BaseException as error:  # noqa: BLE001 - the test reports whatever escapes
            errors.append(error)

    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter allows: the race shows at once
    try:
        threads = [threading.Thread(target=ask, args=(k,)) for k in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(previous)
    assert not errors, f"{len(errors)} thread(s) failed: {errors[0]!r}"
    assert not wrong, wrong[:3]


def test_a_damaged_float_is_refused_and_audio_over_full_scale_is_taken() -> None:
    """A sample of 3e30 (a damaged float file, data that is not audio) is refused in one line naming it: through
    the device's filters it overflowed to NaN in every output sample. +24 dBFS is audio and is processed."""
    from soundstage import Spatializer

    audio = np.zeros((2, 4800), np.float32)
    audio[1, 17] = 3e30
    with pytest.raises(AudioInputError, match=r"^Spatializer: audio contains 3e\+30 at channel 1, sample 17 \(\+610 dBFS\)"):
        Spatializer()(audio, 48000)
    audio[1, 17] = 16.0
    assert np.isfinite(Spatializer()(audio, 48000)).all()
