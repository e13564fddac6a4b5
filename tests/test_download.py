"""Downloads served from 127.0.0.1: checksums, HTTP errors, truncation, atomic writes."""
import hashlib
import io
import socket
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from treenets.data import (
    SICK_CHECKSUMS, SST_CHECKSUMS, ChecksumError, DownloadError, download_sick, download_sst, download_url,
    file_checksum, load_sick_raw, load_sst, verify_file,
)


class Server:
    """A tiny HTTP server: ``files[path] = bytes``; ``truncate[path] = claimed length``."""

    def __init__(self):
        self.files, self.truncate, self.hits = {}, {}, []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server API)
                server.hits.append(self.path)
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404, "Not Found")
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(server.truncate.get(self.path, len(body))))
                self.end_headers()
                self.wfile.write(body)
                if self.path in server.truncate:
                    self.close_connection = True

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def url(self, path):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(monkeypatch):
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    srv = Server()
    yield srv
    srv.close()


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def make_zip(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def listing(folder):
    return sorted(p.name for p in folder.rglob("*")) if folder.exists() else []


SMALL_SST = {
    "train.txt": b"(3 (2 A) (4 good))\n(1 (0 bad) (2 film))\n",
    "dev.txt": b"(2 (2 so) (2 so))\n",
    "test.txt": b"(4 (4 great) (2 .))\n",
}
SMALL_SST_SUMS = {name: ("md5:" + hashlib.md5(data).hexdigest(), sha256(data)) for name, data in SMALL_SST.items()}


# ------------------------------------------------------------- single files
def test_download_url(server, tmp_path):
    server.files["/a.txt"] = b"hello"
    dest = download_url(server.url("/a.txt"), tmp_path / "sub" / "a.txt", checksum=sha256(b"hello"))
    assert dest.read_bytes() == b"hello"
    assert listing(tmp_path) == ["a.txt", "sub"]
    # An existing file is kept (and checked) without a request.
    download_url(server.url("/a.txt"), dest, checksum=sha256(b"hello"))
    assert server.hits == ["/a.txt"]


def test_checksum_mismatch_leaves_nothing(server, tmp_path):
    server.files["/a.txt"] = b"tampered"
    url = server.url("/a.txt")
    with pytest.raises(ChecksumError) as info:
        download_url(url, tmp_path / "a.txt", checksum=sha256(b"hello"))
    err = info.value
    assert err.url == url and err.expected == sha256(b"hello") and err.got == sha256(b"tampered")
    assert url in str(err) and sha256(b"hello") in str(err) and sha256(b"tampered") in str(err)
    assert listing(tmp_path) == []


def test_http_404(server, tmp_path):
    url = server.url("/missing.zip")
    with pytest.raises(DownloadError, match=r"download of http://127\.0\.0\.1:\d+/missing\.zip failed: HTTP 404"):
        download_url(url, tmp_path / "x.zip")
    with pytest.raises(DownloadError, match="HTTP 404"):
        download_sst(tmp_path, url=url)
    assert listing(tmp_path) == ["sst"]   # the folder, and nothing in it


def test_truncated_body_keeps_old_file(server, tmp_path):
    server.files["/a.txt"] = b"0123456789"
    server.truncate["/a.txt"] = 1000
    dest = tmp_path / "a.txt"
    dest.write_bytes(b"good old content")
    with pytest.raises(DownloadError, match=r"truncated: got 10 of 1000 bytes"):
        download_url(server.url("/a.txt"), dest, overwrite=True)
    assert dest.read_bytes() == b"good old content"
    assert listing(tmp_path) == ["a.txt"]


def test_unreachable(tmp_path, monkeypatch):
    monkeypatch.delenv("http_proxy", raising=False)
    monkeypatch.delenv("HTTP_PROXY", raising=False)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/a.txt"
    with pytest.raises(DownloadError, match=rf"download of {url} failed"):
        download_url(url, tmp_path / "a.txt", timeout=5)
    assert listing(tmp_path) == []


def test_checksum_helpers(tmp_path):
    path = tmp_path / "f.txt"
    path.write_bytes(b"abc")
    assert file_checksum(path) == sha256(b"abc")
    assert file_checksum(path, "md5") == "md5:900150983cd24fb0d6963f7d28e17f72"
    verify_file(path, ["md5:900150983cd24fb0d6963f7d28e17f72", sha256(b"abc")])
    with pytest.raises(ChecksumError, match="expected md5:0+, got md5:9001"):
        verify_file(path, "md5:" + "0" * 32)
    with pytest.raises(ValueError, match="algorithm:hexdigest"):
        verify_file(path, "900150983cd24fb0d6963f7d28e17f72")


# ------------------------------------------------------------------- SST zip
def test_sst_synthetic_zip(server, tmp_path):
    server.files["/sst.zip"] = make_zip({f"trees/{n}": d for n, d in SMALL_SST.items()})
    folder = download_sst(tmp_path, url=server.url("/sst.zip"), checksums=SMALL_SST_SUMS, keep_archive=True)
    assert folder == tmp_path / "sst"
    assert listing(folder) == ["dev.txt", "sst.zip", "test.txt", "train.txt"]
    assert [t.labels for t in load_sst(folder, "train")] == [[3, 2, 4], [1, 0, 2]]
    # Present and valid: no second request.
    download_sst(tmp_path, url=server.url("/sst.zip"), checksums=SMALL_SST_SUMS)
    assert server.hits == ["/sst.zip"]


def test_sst_default_table_rejects_other_content(server, tmp_path):
    """The official checksums apply whatever the URL: a different file is refused."""
    server.files["/sst.zip"] = make_zip({f"trees/{n}": d for n, d in SMALL_SST.items()})
    url = server.url("/sst.zip")
    with pytest.raises(ChecksumError) as info:
        download_sst(tmp_path, url=url)
    assert info.value.url == url and info.value.name == "trees/train.txt"
    assert info.value.expected == SST_CHECKSUMS["train.txt"][0]
    assert listing(tmp_path) == ["sst"]


def test_sst_bad_archives(server, tmp_path):
    server.files["/nozip"] = b"<html>not a zip</html>"
    with pytest.raises(DownloadError, match=r"/nozip is not a zip archive"):
        download_sst(tmp_path, url=server.url("/nozip"), checksums=SMALL_SST_SUMS)
    server.files["/partial.zip"] = make_zip({"trees/train.txt": SMALL_SST["train.txt"]})
    with pytest.raises(DownloadError, match=r"has no member 'trees/dev\.txt'"):
        download_sst(tmp_path, url=server.url("/partial.zip"), checksums=SMALL_SST_SUMS)
    assert listing(tmp_path / "sst") == []       # train.txt was fine but is not left alone
    server.files["/sst.zip"] = make_zip({f"trees/{n}": d for n, d in SMALL_SST.items()})
    with pytest.raises(ChecksumError, match=r"sst\.zip from .*: expected sha256:0+, got sha256:"):
        download_sst(tmp_path, url=server.url("/sst.zip"), checksums=SMALL_SST_SUMS,
                     archive_checksum="sha256:" + "0" * 64)
    assert listing(tmp_path / "sst") == []


def test_existing_bad_file(server, tmp_path):
    server.files["/sst.zip"] = make_zip({f"trees/{n}": d for n, d in SMALL_SST.items()})
    (tmp_path / "sst").mkdir()
    (tmp_path / "sst" / "dev.txt").write_bytes(b"edited\n")
    with pytest.raises(ChecksumError, match="pass overwrite=True"):
        download_sst(tmp_path, url=server.url("/sst.zip"), checksums=SMALL_SST_SUMS)
    download_sst(tmp_path, url=server.url("/sst.zip"), checksums=SMALL_SST_SUMS, overwrite=True)
    assert (tmp_path / "sst" / "dev.txt").read_bytes() == SMALL_SST["dev.txt"]


def test_file_url(tmp_path):
    archive = tmp_path / "local.zip"
    archive.write_bytes(make_zip({f"trees/{n}": d for n, d in SMALL_SST.items()}))
    folder = download_sst(tmp_path / "data", url=archive.as_uri(), checksums=SMALL_SST_SUMS)
    assert (folder / "test.txt").read_bytes() == SMALL_SST["test.txt"]


# ------------------------------------------------------------ the real files
@pytest.fixture(scope="module")
def real_sst_zip(data_dir):
    return make_zip({f"trees/{s}.txt": (data_dir / "sst" / f"{s}.txt").read_bytes()
                     for s in ("train", "dev", "test")})


def test_real_sst_matches_checksum_table(server, tmp_path, data_dir, real_sst_zip):
    server.files["/trainDevTestTrees_PTB.zip"] = real_sst_zip
    folder = download_sst(tmp_path, url=server.url("/trainDevTestTrees_PTB.zip"))
    for split in ("train", "dev", "test"):
        got = (folder / f"{split}.txt").read_bytes()
        assert got == (data_dir / "sst" / f"{split}.txt").read_bytes()
        assert file_checksum(folder / f"{split}.txt", "md5") == SST_CHECKSUMS[f"{split}.txt"][0]
    assert listing(folder) == ["dev.txt", "test.txt", "train.txt"]
    assert len(load_sst(folder, "dev")) == 1101


def test_real_sst_one_flipped_byte(server, tmp_path, data_dir):
    dev = bytearray((data_dir / "sst" / "dev.txt").read_bytes())
    dev[100] ^= 1
    files = {f"trees/{s}.txt": (data_dir / "sst" / f"{s}.txt").read_bytes() for s in ("train", "test")}
    files["trees/dev.txt"] = bytes(dev)
    server.files["/sst.zip"] = make_zip(files)
    with pytest.raises(ChecksumError) as info:
        download_sst(tmp_path, url=server.url("/sst.zip"))
    assert info.value.name == "trees/dev.txt"
    assert info.value.expected == "md5:c405f1d724964e6f72314b5a51fea691"
    assert listing(tmp_path / "sst") == []   # train.txt passed its check but was not moved into place


def test_real_sick(server, tmp_path, data_dir):
    urls = {}
    for split, name in (("train", "SICK_train.txt"), ("trial", "SICK_trial.txt"),
                        ("test", "SICK_test_annotated.txt")):
        server.files[f"/sick_{split}.zip"] = make_zip({name: (data_dir / "sick" / name).read_bytes(),
                                                       "readme.txt": b"SICK readme\n"})
        urls[split] = server.url(f"/sick_{split}.zip")
    folder = download_sick(tmp_path, urls=urls)
    assert listing(folder) == sorted(SICK_CHECKSUMS)
    for name in SICK_CHECKSUMS:
        assert (folder / name).read_bytes() == (data_dir / "sick" / name).read_bytes()
    assert len(load_sick_raw(folder, "test")) == 4927
    with pytest.raises(ValueError, match="unknown SICK split 'dev'"):
        download_sick(tmp_path, urls={"dev": urls["trial"]})


def test_sick_checksum_mismatch(server, tmp_path):
    server.files["/t.zip"] = make_zip({"SICK_train.txt": b"pair_ID\tsentence_A\n", "readme.txt": b"x"})
    url = server.url("/t.zip")
    with pytest.raises(ChecksumError) as info:
        download_sick(tmp_path, urls={"train": url})
    assert info.value.url == url and info.value.name == "SICK_train.txt"
    assert info.value.expected == SICK_CHECKSUMS["SICK_train.txt"][0]
    assert listing(tmp_path / "sick") == []


def test_sick_missing_member(server, tmp_path):
    server.files["/t.zip"] = make_zip({"readme.txt": b"x"})
    with pytest.raises(DownloadError, match=r"has no member 'SICK_train\.txt'"):
        download_sick(tmp_path, urls={"train": server.url("/t.zip")})
    assert listing(tmp_path / "sick") == []
