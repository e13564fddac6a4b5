"""GloVe: downloads served from 127.0.0.1 (checksums, damaged archives, leftovers of killed runs) and finding the files."""
import dataclasses
import hashlib
import os
import subprocess
import sys
import zipfile

import pytest

from test_download import Server, listing, make_zip, server, sha256  # noqa: F401 (the fixture)
from treenets.utils.atomic import temp_name
from treenets.data import ChecksumError, DownloadError, GLOVE_RELEASES, download_glove, find_vectors
from treenets.data.command import main as download_main

VEC50 = "the 0.1 0.2\nmovie 0.3 0.4\n"
VEC100 = "the 0.5 0.6 0.7\nmovie 0.8 0.9 1.0\n"


@pytest.fixture
def glove6b(server, monkeypatch):
    """A stand-in of glove.6B.zip on the server, and the release table pinned to its checksums."""
    data = make_zip({"glove.6B.50d.txt": VEC50, "glove.6B.100d.txt": VEC100})
    server.files["/glove.6B.zip"] = data
    release = dataclasses.replace(GLOVE_RELEASES["6B"], url=server.url("/glove.6B.zip"), size=len(data),
                                  sha256=sha256(data),
                                  members={"glove.6B.50d.txt": sha256(VEC50.encode()), "glove.6B.100d.txt": None,
                                           "glove.6B.200d.txt": None, "glove.6B.300d.txt": None})
    monkeypatch.setitem(GLOVE_RELEASES, "6B", release)
    return release


def test_download_glove_extracts_the_files_asked_for(glove6b, server, tmp_path):
    [path] = download_glove(tmp_path, ["glove.6B.50d.txt"], progress=False)
    assert path == tmp_path / "embeddings" / "glove.6B.50d.txt" and path.read_text() == VEC50
    assert listing(tmp_path / "embeddings") == ["glove.6B.50d.txt"]  # the zip is not kept
    download_glove(tmp_path, ["glove.6B.50d.txt"], progress=False)  # present and valid: no request
    assert server.hits == ["/glove.6B.zip"]
    # with keep_archive the zip stays, and serves the next file without a download
    download_glove(tmp_path, ["glove.6B.100d.txt"], progress=False, keep_archive=True)
    assert listing(tmp_path / "embeddings") == ["glove.6B.100d.txt", "glove.6B.50d.txt", "glove.6B.zip"]
    (tmp_path / "embeddings" / "glove.6B.100d.txt").unlink()
    download_glove(tmp_path, ["glove.6B.100d.txt"], progress=False)
    assert server.hits == ["/glove.6B.zip"] * 2
    with pytest.raises(ValueError, match="not an official GloVe file"):
        download_glove(tmp_path, ["glove.6B.51d.txt"])


def test_glove_checksums(glove6b, server, tmp_path, monkeypatch):
    good = server.files["/glove.6B.zip"]
    server.files["/glove.6B.zip"] = make_zip({"glove.6B.50d.txt": VEC50.replace("0.1", "0.2"),
                                              "glove.6B.100d.txt": VEC100})
    with pytest.raises(ChecksumError, match=r"glove\.6B\.zip from .*: expected sha256:"):
        download_glove(tmp_path, ["glove.6B.50d.txt"], progress=False)
    assert listing(tmp_path / "embeddings") == []
    # an archive that matches but a member that does not (a wrong pinned checksum) is refused too
    monkeypatch.setitem(GLOVE_RELEASES, "6B", dataclasses.replace(
        glove6b, sha256=sha256(server.files["/glove.6B.zip"])))
    with pytest.raises(ChecksumError, match=r"glove\.6B\.50d\.txt from .*: expected " + glove6b.members["glove.6B.50d.txt"]):
        download_glove(tmp_path, ["glove.6B.50d.txt"], progress=False)
    assert listing(tmp_path / "embeddings") == []
    # an edited file already there is named, and kept
    (tmp_path / "embeddings" / "glove.6B.50d.txt").write_text("edited\n")
    monkeypatch.setitem(GLOVE_RELEASES, "6B", glove6b)
    server.files["/glove.6B.zip"] = good
    with pytest.raises(ChecksumError, match="pass overwrite=True"):
        download_glove(tmp_path, ["glove.6B.50d.txt"], progress=False)
    download_glove(tmp_path, ["glove.6B.50d.txt"], progress=False, overwrite=True)
    assert (tmp_path / "embeddings" / "glove.6B.50d.txt").read_text() == VEC50


def test_damaged_deflate_data_is_a_download_error(server, tmp_path, monkeypatch):
    """Damaged compressed data in a member raises DownloadError (which the CLI reports), not zlib.error."""
    text = "".join(f"w{i} {i / 7:.6f} {i / 3:.6f}\n" for i in range(20000))
    data = bytearray(make_zip({"glove.6B.50d.txt": text}))
    for k in range(5000, 5400):
        data[k] ^= 0x5A
    server.files["/glove.6B.zip"] = bytes(data)
    monkeypatch.setitem(GLOVE_RELEASES, "6B", dataclasses.replace(
        GLOVE_RELEASES["6B"], sha256=sha256(bytes(data)), members={"glove.6B.50d.txt": None}))
    with pytest.raises(DownloadError, match=r"glove\.6B\.50d\.txt in the archive from .* is damaged: (error|BadZipFile)"):
        download_glove(tmp_path, ["glove.6B.50d.txt"], progress=False, urls={"6B": server.url("/glove.6B.zip")})
    assert listing(tmp_path / "embeddings") == []  # no .part file left
    code = download_main(["--root", str(tmp_path), "--only", "glove", "--glove", "glove.6B.50d.txt",
                          "--mirror", server.url("/"), "--no-progress"])
    assert code == 1


def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_leftovers_of_a_killed_download_are_removed(glove6b, tmp_path):
    folder = tmp_path / "embeddings"
    folder.mkdir()
    dead = folder / f".glove.6B.zip.{_dead_pid()}.0123456789ab.part"
    dead.write_bytes(b"half a zip")
    alive = temp_name(folder / "glove.6B.zip", "part")  # this process's: another download still running
    alive.write_bytes(b"in progress")
    download_glove(tmp_path, ["glove.6B.50d.txt"], progress=False)
    assert not dead.exists() and alive.exists()
    assert listing(folder) == sorted([alive.name, "glove.6B.50d.txt"])


def test_cli_fetches_glove_with_a_progress_bar(glove6b, server, tmp_path, capsys):
    code = download_main(["--root", str(tmp_path), "--only", "glove", "--glove", "glove.6B.50d.txt",
                          "--mirror", server.url("/")])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "GloVe 6B (Wikipedia 2014 + Gigaword 5" in out.out and f"GloVe: {tmp_path / 'embeddings'}" in out.out
    assert "glove.6B.zip" in out.err  # tqdm's bar, on stderr
    assert (tmp_path / "embeddings" / "glove.6B.50d.txt").read_text() == VEC50


def test_release_table():
    """The official archives: sizes and sha256 as published for nlp.stanford.edu/data (see treenets.data.glove)."""
    r = GLOVE_RELEASES["6B"]
    assert r.url == "https://nlp.stanford.edu/data/glove.6B.zip" and r.size == 862_182_613
    assert r.sha256 == "sha256:617afb2fe6cbd085c235baf7a465b96f4112bd7f7ccb2b2cbd649fed9cbcf2fb"
    assert GLOVE_RELEASES["840B"].sha256.startswith("sha256:c06db255e650")
    assert set(r.members) == {f"glove.6B.{d}d.txt" for d in (50, 100, 200, 300)}


# ------------------------------------------------------------------- finding
def test_find_vectors(tmp_path):
    folder = tmp_path / "embeddings"
    folder.mkdir()
    (folder / "glove.6B.50d.txt").write_text(VEC50)
    zipped = folder / "glove.6B.zip"
    zipped.write_bytes(make_zip({"glove.6B.100d.txt": VEC100, "glove.6B.300d.txt": VEC100}))
    (folder / "glove.840B.300d.zip").write_bytes(make_zip({"glove.840B.300d.txt": VEC100}))
    assert find_vectors("glove.6B.50d.txt", folder) .path == folder / "glove.6B.50d.txt"
    v = find_vectors("glove.6B.100d.txt", folder)  # the official name, inside its zip
    assert (v.path, v.member, v.name, str(v)) == (zipped, "glove.6B.100d.txt", "glove.6B.100d.txt",
                                                 f"{zipped}:glove.6B.100d.txt")
    assert find_vectors("glove.840B.300d.zip", folder).member == "glove.840B.300d.txt"  # one file: no name needed
    assert find_vectors(f"{zipped}:glove.6B.300d.txt", folder).member == "glove.6B.300d.txt"
    assert find_vectors("glove.6B.zip:glove.6B.300d.txt", folder).path == zipped
    with pytest.raises(ValueError, match=r"holds 2 files .*name one as .*glove\.6B\.zip:MEMBER"):
        find_vectors(str(zipped), folder)
    with pytest.raises(ValueError, match="has no member 'glove.6B.50d.txt'"):
        find_vectors("glove.6B.zip:glove.6B.50d.txt", folder)
    with pytest.raises(FileNotFoundError, match=r"glove\.6B\.200d\.txt not found .*python -m treenets\.data --root "
                                                r".* --only glove --glove glove\.6B\.200d\.txt"):
        find_vectors("glove.6B.200d.txt", folder)
    with pytest.raises(FileNotFoundError, match=r"word vectors mine\.txt not found"):
        find_vectors("mine.txt", folder)
    (folder / "subset.txt").write_text(VEC50)
    assert find_vectors("glove.6B.200d.txt", folder, alternatives=["subset.txt"]).path == folder / "subset.txt"
