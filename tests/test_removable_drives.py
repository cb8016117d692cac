"""Outputs on drives formatted for every computer: FAT and exFAT (a USB stick, a card, a drive shared with a Mac or
a Windows machine), and shares without Unix permissions.

Such a file system keeps no Unix permission bits. Linux's own FAT and exFAT drivers answer chmod with EPERM where
the mode asked for is not the one every file there has (a drive mounted as desktops mount it: files 0755, and
soundstage asks 0644, the umask's), and some FUSE drivers with ENOSYS. soundstage gives each file it writes the
mode of the file it replaces, or the umask's: on the old code, every output on such a drive failed at its last step,
"cannot write 'out.wav': Operation not permitted", after the whole render. The drive's hard links are missing too
(exFAT has none): a new output is published by rename after a check of its name.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile

from soundstage.cli import main
from soundstage.errors import OutputError
from soundstage.files import fat_drive
from soundstage.sinks import audio_target, write_failure

RATE = 48000


@pytest.fixture
def mix(tmp_path: Path) -> Path:
    source = tmp_path / "mix.wav"
    audio = 0.2 * np.random.default_rng(3).standard_normal((RATE, 2))
    soundfile.write(str(source), audio, RATE, subtype="PCM_24")
    return source


@pytest.fixture
def refusing_chmod(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """chmod answered as Linux's vfat and exfat drivers answer a mode their files cannot have: EPERM."""
    asked: list[str] = []

    def refuse(path: object, mode: int, *args: object, **kwargs: object) -> None:
        asked.append(os.fspath(path))  # type: ignore[arg-type]
        raise PermissionError(errno.EPERM, os.strerror(errno.EPERM), os.fspath(path))  # type: ignore[arg-type]

    monkeypatch.setattr(os, "chmod", refuse)
    return asked


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".aiff"])
def test_an_output_is_written_where_the_drive_refuses_chmod(
    tmp_path: Path, mix: Path, refusing_chmod: list[str], capsys: pytest.CaptureFixture[str], suffix: str
) -> None:
    plain = tmp_path / f"plain{suffix}"
    drive = tmp_path / "drive"
    drive.mkdir()
    out = drive / f"out{suffix}"
    assert main(["process", str(mix), str(out), "--chain", "mastering"]) == 0, capsys.readouterr().err
    assert refusing_chmod, "soundstage asked for no mode: the test tests nothing"
    assert [p.name for p in drive.iterdir()] == [out.name]  # no temporary left beside it
    written, rate = soundfile.read(str(out), dtype="float32")
    assert rate == RATE and written.shape == (RATE, 2)
    assert main(["process", str(mix), str(plain), "--chain", "mastering"]) == 0
    expected, _ = soundfile.read(str(plain), dtype="float32")
    np.testing.assert_array_equal(written, expected)
    assert main(["process", str(mix), str(out), "--chain", "mastering"]) == 2
    assert "already exists" in capsys.readouterr().err


def test_a_session_renders_and_a_session_file_is_written_where_the_drive_refuses_chmod(
    tmp_path: Path, refusing_chmod: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    stems = tmp_path / "stems"
    stems.mkdir()
    for name, channels in (("vocal", 1), ("keys", 2)):
        audio = 0.1 * np.random.default_rng(len(name)).standard_normal((RATE // 2, channels))
        soundfile.write(str(stems / f"{name}.wav"), audio, RATE, subtype="PCM_24")
    assert main(["session", "new", str(stems), "-o", str(tmp_path / "session.toml")]) == 0, capsys.readouterr().err
    assert main(["render", str(tmp_path / "session.toml")]) == 0, capsys.readouterr().err
    renders = sorted(p.name for p in (tmp_path / "renders").iterdir())
    assert "render-report.json" in renders and any(name.endswith(".wav") for name in renders), renders
    assert not any(name.startswith(".") for name in renders), renders
    assert refusing_chmod


# -- a real exFAT file system ---------------------------------------------------------------------------------------


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(command), capture_output=True, text=True, timeout=60)


def _image(image: Path, tools: tuple[str, ...], packages: str, *mkfs: str) -> Path:
    """A 64 MiB file system made in the file ``image`` with the command ``mkfs`` (a failure under CI where ``tools``
    are missing, else a skip naming the Debian ``packages``)."""
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{', '.join(missing)} missing in CI: .ci/run must install {packages}")
        pytest.skip(f"needs {', '.join(missing)} (Debian: apt-get install {packages})")
    with image.open("wb") as handle:
        handle.truncate(64 << 20)
    made = _run(*mkfs, str(image))
    assert made.returncode == 0, made.stderr
    return image


@pytest.fixture
def exfat(tmp_path: Path) -> Iterator[Path]:
    """A 64 MiB exFAT file system, mounted through exfat-fuse (skips where it cannot be mounted: no root, no FUSE)."""
    image = _image(tmp_path / "drive.img", ("mkfs.exfat", "mount.exfat-fuse", "losetup"), "exfatprogs exfat-fuse", "mkfs.exfat")
    loop = _run("losetup", "-f", "--show", str(image))
    if loop.returncode != 0:
        pytest.skip(f"cannot attach a loop device here (losetup: {loop.stderr.strip()})")
    device = loop.stdout.strip()
    mount = tmp_path / "drive"
    mount.mkdir()
    try:
        mounted = _run("mount.exfat-fuse", device, str(mount))
        if mounted.returncode != 0:
            pytest.skip(f"cannot mount a FUSE file system here (mount.exfat-fuse: {mounted.stderr.strip()})")
        try:
            yield mount
        finally:
            _run("umount", str(mount))
    finally:
        _run("losetup", "-d", device)


def test_outputs_on_an_exfat_drive(tmp_path: Path, exfat: Path, mix: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """exFAT has no hard links and no permission bits: an output is written, kept from a second run without
    --overwrite, replaced with it, and holds the samples an output on the machine's own disk holds."""
    assert main(["process", str(mix), str(tmp_path / "here.wav"), "--chain", "mastering"]) == 0
    out = exfat / "master.wav"
    assert main(["process", str(mix), str(out), "--chain", "mastering"]) == 0, capsys.readouterr().err
    assert out.read_bytes() == (tmp_path / "here.wav").read_bytes()
    before = out.stat().st_mtime_ns
    assert main(["process", str(mix), str(out), "--chain", "mastering"]) == 2
    assert "already exists" in capsys.readouterr().err and out.stat().st_mtime_ns == before
    assert main(["process", str(mix), str(out), "--chain", "mastering", "--overwrite"]) == 0
    assert out.read_bytes() == (tmp_path / "here.wav").read_bytes()
    assert sorted(p.name for p in exfat.iterdir()) == ["master.wav"]


def test_a_name_an_exfat_drive_refuses_is_said_with_one_it_takes(
    tmp_path: Path, exfat: Path, mix: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """exFAT (and FAT, and Windows) take no \\ : * ? " < > | in a name; exfat-fuse says ENOENT, 'No such file or
    directory', in a folder that is there (Linux's own driver: EINVAL, 'Invalid argument')."""
    assert main(["process", str(mix), str(exfat / "Mix: final?.wav"), "--chain", "mastering"]) == 2
    said = capsys.readouterr().err
    assert said.count("\n") == 1 and "the drive takes no : ? in a name" in said and "'Mix final.wav'" in said, said
    assert main(["process", str(mix), str(exfat / "Mix final.wav"), "--chain", "mastering"]) == 0  # as it says
    assert sorted(p.name for p in exfat.iterdir()) == ["Mix final.wav"]


@pytest.fixture
def names_refused_as_linux_exfat(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A folder whose file system refuses \\ : * ? " < > | in names as Linux's exfat driver does: EINVAL."""
    drive = tmp_path / "drive"
    drive.mkdir()
    real_open, real_mkdir = os.open, os.mkdir

    def refused(path: object) -> bool:
        text = os.fspath(path)  # type: ignore[arg-type]
        return isinstance(text, str) and text.startswith(str(drive)) and bool(set(Path(text).name) & set('\\:*?"<>|'))

    def checked_open(path: object, *args: object, **kwargs: object) -> int:
        if refused(path):
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL), os.fspath(path))  # type: ignore[arg-type]
        return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

    def checked_mkdir(path: object, *args: object, **kwargs: object) -> None:
        if refused(path):
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL), os.fspath(path))  # type: ignore[arg-type]
        real_mkdir(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", checked_open)
    monkeypatch.setattr(os, "mkdir", checked_mkdir)
    return drive


def test_names_the_drive_refuses_are_said_for_files_session_files_and_folders(
    tmp_path: Path, mix: Path, names_refused_as_linux_exfat: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    drive = names_refused_as_linux_exfat
    cases = [
        (["process", str(mix), str(drive / "Take 2: final.flac"), "--chain", "mastering"], "'Take 2 final.flac'"),
        (["session", "new", str(tmp_path), "-o", str(drive / "Song <v2>.toml")], "'Song v2.toml'"),
        (["demo", str(drive / "demo?")], "'demo'"),
    ]
    for command, better in cases:
        assert main(command) == 2, command
        said = capsys.readouterr().err
        assert said.count("\n") == 1 and "in a name (drives formatted FAT or exFAT" in said and better in said, said
    assert list(drive.iterdir()) == []


# -- a full drive, before the work ----------------------------------------------------------------------------------


def test_an_output_the_drive_has_no_room_for_is_refused_before_the_work(
    tmp_path: Path, exfat: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A WAV's size is known before it is written: one that the drive has no room for (here 3 minutes of stereo
    float, 66 MiB, on a 64 MiB stick) is refused at once, in one line saying both sizes, where the old code rendered
    until the drive was full. What fits is written; a FLAC (whose size is not known) is left to the write."""
    source = _long_wav(tmp_path / "song.wav", 3 * 60 * RATE)
    free = shutil.disk_usage(exfat).free
    assert main(["process", str(source), str(exfat / "song master.wav"), "--chain", "mastering"]) == 2
    said = capsys.readouterr().err
    assert said.count("\n") == 1, said
    assert f"would hold 65.9 MiB; the drive at '{exfat}' has {free / 2**20:.1f} MiB free: make room on it" in said, said
    assert list(exfat.iterdir()) == []
    short = _long_wav(tmp_path / "short.wav", 60 * RATE)  # 22 MiB as float: it fits
    assert main(["process", str(short), str(exfat / "short master.wav"), "--chain", "mastering"]) == 0
    assert soundfile.info(str(exfat / "short master.wav")).frames == 60 * RATE


def test_on_macos_the_room_check_leaves_the_drive_to_make_room(
    tmp_path: Path, exfat: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """macOS's APFS makes room as a file grows, by freeing purgeable space (local snapshots, files iCloud can fetch
    again) that the free space a program can ask for leaves out: there an output is not refused for room before the
    work (the write says a drive that is really full). The same target, refused here, is taken as macOS."""
    frames = 3 * 60 * RATE  # 66 MiB of stereo float on the 64 MiB drive
    with pytest.raises(OutputError, match="free: make room on it"):
        audio_target(exfat / "song.wav", channels=2, sample_rate=RATE, frames=frames)
    monkeypatch.setattr(sys, "platform", "darwin")
    assert audio_target(exfat / "song.wav", channels=2, sample_rate=RATE, frames=frames).file_format == "WAV"


def test_renders_that_together_overfill_the_drive_are_refused_before_the_work(
    tmp_path: Path, exfat: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each of a session's renders fits the drive alone, all of them together do not (30 s of stems: a mixdown, five
    driver feeds, a binaural and a reference preview and an A/B, whose sides go through float first passes): the
    render is refused before any work, in one line naming what they take, what is free and the fixes; nothing is
    left on the drive, and one render alone (--only) is made."""
    stems = tmp_path / "stems"
    stems.mkdir()
    for name, channels in (("vocal", 1), ("keys", 2)):
        audio = 0.1 * np.random.default_rng(len(name)).standard_normal((30 * RATE, channels))
        soundfile.write(str(stems / f"{name}.wav"), audio, RATE, subtype="PCM_24")
    session = tmp_path / "session.toml"
    assert main(["session", "new", str(stems), "-o", str(session)]) == 0, capsys.readouterr().err
    capsys.readouterr()
    out = exfat / "renders"
    assert main(["render", str(session), "-o", str(out)]) == 2
    said = capsys.readouterr().err
    assert said.count("\n") == 1, said
    assert "the renders would take " in said and f"in '{out}' as they are written; its drive has " in said, said
    assert "render fewer at a time (--only NAME)" in said, said
    assert not out.exists() or list(out.iterdir()) == []
    assert main(["render", str(session), "-o", str(out), "--only", "binaural"]) == 0, capsys.readouterr().err
    assert soundfile.info(str(out / "binaural.wav")).frames == 30 * RATE


# -- a real FAT32 file system: files of at most 4 GiB ---------------------------------------------------------------


@pytest.fixture
def fat32(tmp_path: Path) -> Iterator[Path]:
    """A 64 MiB FAT32 file system, mounted through fusefat (skips where it cannot be mounted: no FUSE). fusefat is
    for reading here, not for writing: it places writes wrongly (the tests write nothing on it)."""
    image = _image(tmp_path / "stick.img", ("mkfs.vfat", "fusefat", "fusermount"), "dosfstools fusefat", "mkfs.vfat", "-F", "32")
    mount = tmp_path / "NO NAME"  # where a desktop mounts a FAT stick without a label: a space, in /proc/mounts as \040
    mount.mkdir()
    mounted = _run("fusefat", "-o", "rw+", str(image), str(mount))
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a FUSE file system here (fusefat: {mounted.stderr.strip()})")
    try:
        yield mount
    finally:
        _run("fusermount", "-u", str(mount))


def _long_wav(path: Path, frames: int) -> Path:
    """A 16-bit stereo WAV of ``frames`` samples of silence, its audio a hole in the file (nothing on the disk)."""
    data = frames * 4
    header = b"RIFF" + (36 + data).to_bytes(4, "little") + b"WAVEfmt " + (16).to_bytes(4, "little")
    header += (1).to_bytes(2, "little") + (2).to_bytes(2, "little") + RATE.to_bytes(4, "little")
    header += (RATE * 4).to_bytes(4, "little") + (4).to_bytes(2, "little") + (16).to_bytes(2, "little")
    with path.open("wb") as handle:
        handle.write(header + b"data" + data.to_bytes(4, "little"))
        handle.truncate(44 + data)
    return path


def test_an_output_a_fat32_drive_cannot_hold_is_refused_before_the_work(
    tmp_path: Path, fat32: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A FAT32 drive (a USB stick, a card) holds files of at most 4 GiB. Three hours and a half of a stereo mix as
    32-bit float is 4.5 GiB: the old code rendered it until the drive refused the file (a stick with room: after hours,
    at 4 GiB, with libsndfile's bare "System error."; this 64 MiB one: when full). Now it is refused at once, in one
    line naming the drive and the fix, and nothing is written."""
    frames = 3 * 3600 * RATE + RATE * 1800  # 3.5 h: 16-bit in (2.1 GiB, a plain WAV), 32-bit float out (4.5 GiB)
    source = _long_wav(tmp_path / "album.wav", frames)
    assert soundfile.info(str(source)).frames == frames  # an independent reader reads it as that long
    out = fat32 / "album master.wav"
    assert main(["process", str(source), str(out), "--chain", "mastering"]) == 2
    said = capsys.readouterr().err
    assert said.count("\n") == 1, said
    assert f"would hold 4.5 GiB; the drive at '{fat32}' is formatted FAT" in said and "at most 4 GiB" in said, said
    assert "write it to another drive" in said, said
    assert list(fat32.iterdir()) == []


def test_which_drives_are_fat(tmp_path: Path, fat32: Path) -> None:
    """The drive found is the innermost mount holding the folder: the FAT32 stick and a folder on it; not the disk it
    is mounted from. On it, a WAV under 4 GiB is taken (fusefat reports no free space, 0 bytes of 0: that is not
    read as a full drive), six driver feeds over 4 GiB are not."""
    (tmp_path / "here").mkdir()
    assert fat_drive(fat32) == str(fat32)
    assert fat_drive(fat32 / "not made yet") == str(fat32)
    assert fat_drive(tmp_path / "here") is None
    hours = 2 * 3600 * RATE  # 2 h of stereo float: 2.6 GiB, a WAV a FAT32 drive holds
    assert audio_target(fat32 / "mix.wav", channels=2, sample_rate=RATE, frames=hours).file_format == "WAV"
    with pytest.raises(OutputError, match="would hold 7.7 GiB; the drive at .* is formatted FAT"):
        audio_target(fat32 / "feeds.wav", channels=6, sample_rate=RATE, frames=hours)


# -- a limit on the size of a file ----------------------------------------------------------------------------------


def test_a_file_size_limit_is_said_with_the_limit_and_the_fix(tmp_path: Path) -> None:
    """A shell (or a batch system) may limit the size of a file a process writes (``ulimit -f``). libsndfile says of
    a write past it only "System error." (it does not pass on EFBIG). A WAV, whose size is known, is now refused
    before the work, naming its size, the limit and the fix (it was written up to the limit first); a FLAC's error
    at the write names the limit and the fix. No file or temporary is left."""
    resource = pytest.importorskip("resource")
    long_mix = tmp_path / "long.wav"
    soundfile.write(str(long_mix), 0.1 * np.random.default_rng(5).standard_normal((10 * RATE, 2)), RATE, subtype="PCM_24")
    out = tmp_path / "out" / "master.wav"
    out.parent.mkdir()
    limit = 1000 * 1024

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    script = "import sys; from soundstage.cli import main; sys.exit(main(sys.argv[1:]))"
    said = {
        "master.wav": "would hold 3.7 MiB; the shell lets a file grow to 1000.0 KiB (ulimit -f 1000): raise the limit",
        "master.flac": f"The shell lets a file grow to {limit} bytes (ulimit -f 1000); raise the limit",
    }
    for name, words in said.items():
        done = subprocess.run(
            [sys.executable, "-c", script, "process", str(long_mix), str(out.parent / name), "--chain", "mastering"],
            capture_output=True,
            text=True,
            timeout=300,
            preexec_fn=limited,
        )
        assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
        assert words in done.stderr and "(ulimit -f unlimited) and run again" in done.stderr, done.stderr
    assert list(out.parent.iterdir()) == []


def test_a_write_that_fails_far_from_a_file_size_limit_is_not_put_down_to_it(tmp_path: Path) -> None:
    """libsndfile's bare "System error." under a limit on a file's size was always put down to the limit; a file
    that failed far short of it (a drive removed, an I/O error) is not: the limit is named only where the file had
    grown to within 8 MiB of it."""
    resource = pytest.importorskip("resource")
    before = resource.getrlimit(resource.RLIMIT_FSIZE)
    limit = 1 << 30
    short, grown = tmp_path / "short.wav", tmp_path / "grown.wav"
    short.write_bytes(bytes(4096))
    with grown.open("wb") as file:  # a sparse file just under the limit
        file.truncate(limit - 4096)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, before[1]))
    try:
        failed_short = write_failure(tmp_path / "take.wav", soundfile.LibsndfileError(2), short)
        failed_grown = write_failure(tmp_path / "take.wav", soundfile.LibsndfileError(2), grown)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, before)
    assert "ulimit" not in str(failed_short) and str(failed_short).endswith("System error.")
    assert f"The shell lets a file grow to {limit} bytes (ulimit -f {limit // 1024})" in str(failed_grown)
