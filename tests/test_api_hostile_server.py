"""The client against servers that misbehave (a raw-socket server scripts each answer byte by
byte): trickled bodies end at the call's deadline, bodies and gzip bombs stop at their caps (peak
memory held under an address-space limit in a subprocess), broken framing is a FastLabelException,
non-GET redirects are refused, files come only from allowed hosts, endless pages end with an
error and leave no spool, and ``push`` reads nothing outside ``--images``."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rawserver import MIB, RawServer, Routes, answer, gzip_bomb, head

from fastlabel_formats_api import Client
from fastlabel_formats_api.cli import main
from fastlabel_formats_api.exceptions import FastLabelException, FastLabelInvalidException
from fastlabel_formats_api.sync import image_file, pull
from fastlabel_formats_api.testing import FakeFastLabel
from fastlabel_formats_api.transport import MAX_JSON_BYTES, Transport

TOKEN = "hostile-token"
JSON = {"Content-Type": "application/json"}


def api_of(server: RawServer, **options) -> Transport:
    return Transport(TOKEN, base_url=server.url + "v1/", sleep=lambda seconds: None, **options)


def trickle(prefix: bytes, count: int, pause: float) -> list:
    """``prefix``, then ``count`` single bytes ``pause`` seconds apart."""
    parts: list = [prefix]
    for _ in range(count):
        parts += [pause, b" "]
    return parts


@pytest.mark.parametrize("parts", [
    trickle(head(200, {"Content-Length": "60", **JSON}), 60, 0.5),  # the body, a byte at a time
    trickle(b"HTTP/1.1 200 OK\r\nX-Slow:", 60, 0.5),  # the headers, a byte at a time
    [10.0],  # nothing at all
], ids=["body", "headers", "silence"])
def test_a_trickling_server_is_cut_at_the_calls_deadline(parts):
    with RawServer(lambda request: parts, lifetime=40) as server:
        api = api_of(server, timeout=(0.5, 1.0))
        with pytest.raises(FastLabelException, match=r"^<Response \[None\]> GET .*/v1/projects did not finish "
                                                     r"within 1\.5 s"):
            api.request("GET", "projects")
    assert len(server.requests) == 1  # a call past its deadline is not repeated


def test_a_body_over_the_cap_stops_there_named_with_the_url_and_the_cap():
    endless = [head(200, {"Transfer-Encoding": "chunked", **JSON}),
               *([b"10000\r\n" + b" " * 0x10000 + b"\r\n"] * 16384)]  # 1 GiB, chunked, no length announced
    routes = Routes({"/v1/endless": endless,
                     "/v1/announced": [head(200, {"Content-Length": str(1 << 30), **JSON})],
                     "/v1/bomb": [answer(200, gzip_bomb(256), {"Content-Encoding": "gzip", **JSON})]})
    with RawServer(routes) as server:
        api = api_of(server, max_json_bytes=4 * MIB)
        for path in ("endless", "announced", "bomb"):
            with pytest.raises(FastLabelException, match=rf"answer of http://127\.0\.0\.1:\d+/v1/{path} is refused"
                                                         r".*the cap is 4 MiB, Transport max_json_bytes"):
                api.request("GET", path)
    assert MAX_JSON_BYTES == 32 * MIB


def test_gzip_and_deflate_answers_are_read_like_plain_ones():
    body = json.dumps([{"id": number, "name": f"t{number}"} for number in range(2000)]).encode()
    routes = Routes({"/v1/gzip": [answer(200, gzip.compress(body), {"Content-Encoding": "gzip", **JSON})],
                     "/v1/deflate": [answer(200, zlib.compress(body), {"Content-Encoding": "deflate", **JSON})],
                     "/v1/raw-deflate": [answer(200, zlib.compress(body)[2:-4], {"Content-Encoding": "deflate"})],
                     "/v1/brotli": [answer(200, body, {"Content-Encoding": "br"})],
                     "/v1/cut": [answer(200, gzip.compress(body)[:-100], {"Content-Encoding": "gzip"})]})
    with RawServer(routes) as server:
        api = api_of(server)
        for path in ("gzip", "deflate", "raw-deflate"):
            assert api.request("GET", path) == json.loads(body), path
        with pytest.raises(FastLabelException, match="Content-Encoding we did not ask for: 'br'"):
            api.request("GET", "brotli")
        with pytest.raises(FastLabelException, match="compressed body is cut short"):
            api.request("GET", "cut")
    assert server.requests[0].headers["accept-encoding"] == "gzip, deflate"


BROKEN = {
    "lying-length": answer(200, b"[1, 2]", {"Content-Length": "1000"}),
    "bad-chunk": head(200, {"Transfer-Encoding": "chunked"}) + b"zz\r\n[1, 2]\r\n0\r\n\r\n",
    "unfinished-chunks": head(200, {"Transfer-Encoding": "chunked"}) + b"6\r\n[1, 2]\r\n",
    "garbage": b"HELLO THERE\r\n\r\n",
    "closed": b"",
    "bad-gzip": answer(200, b"not gzip at all", {"Content-Encoding": "gzip"}),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_framing_is_a_fastlabel_exception(case):
    with RawServer(lambda request: [BROKEN[case]]) as server:
        api = api_of(server, max_retries=1)
        with pytest.raises(FastLabelException) as raised:
            api.request("GET", "projects")
    assert type(raised.value) is FastLabelException
    assert "broke off" in str(raised.value) or "failed" in str(raised.value) or "not valid" in str(raised.value)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirected_post_is_refused_not_resent_as_a_get(status):
    routes = Routes({"/v1/projects": [answer(status, b"", {"Location": "/v1/elsewhere"})],
                     "/v1/elsewhere": [answer(200, [])]})
    with RawServer(routes) as server:
        with pytest.raises(FastLabelException, match=rf"POST .*/v1/projects was redirected \({status}\) to "
                                                     r".*/v1/elsewhere; a POST is not sent again elsewhere"):
            api_of(server).request("POST", "projects", payload={"slug": "x"})
    assert [(r.method, r.path) for r in server.requests] == [("POST", "/v1/projects")]


@pytest.mark.parametrize("redirect", [
    trickle(head(302, {"Content-Length": "60", "Location": "/v1/here"}), 60, 0.5),  # a body a byte at a time
    [head(302, {"Content-Length": "5", "Content-Encoding": "deflate", "Location": "/v1/here"}) + b":\x00"],
], ids=["trickled", "undecodable"])
def test_a_redirect_is_followed_without_reading_its_body(redirect):
    routes = Routes({"/v1/moved": redirect, "/v1/here": [answer(200, {"ok": True})]})
    with RawServer(routes, lifetime=40) as server:
        assert api_of(server, timeout=(0.5, 1.0)).request("GET", "moved") == {"ok": True}
    assert [r.path for r in server.requests] == ["/v1/moved", "/v1/here"]


def test_a_get_follows_redirects_only_within_the_api_and_to_allowed_file_hosts(tmp_path):
    with RawServer(lambda request: [answer(200, b"secret of another local service")]) as other:
        routes = Routes({"/v1/moved": [answer(302, b"", {"Location": "/v1/here"})],
                         "/v1/here": [answer(200, {"ok": True})],
                         "/v1/away": [answer(302, b"", {"Location": other.url + "v1/here"})],
                         "/storage/a.png": [answer(302, b"", {"Location": other.url + "a.png"})]})
        with RawServer(routes) as server:
            api = api_of(server)
            assert api.request("GET", "moved") == {"ok": True}
            with pytest.raises(FastLabelException, match="redirected \\(302\\) to another host"):
                api.request("GET", "away")
            with pytest.raises(FastLabelException, match="names a local address \\(127.0.0.1\\) other than the "
                                                         "API's own"):
                api.download(server.url + "storage/a.png", tmp_path / "a.png")
    assert other.requests == [] and not (tmp_path / "a.png").exists()
    assert all("authorization" not in r.headers for r in server.requests if r.path.startswith("/storage"))


def test_files_come_only_from_allowed_hosts(tmp_path):
    with RawServer(lambda request: [answer(200, b"PNG bytes")]) as storage, \
            RawServer(lambda request: [answer(200, b"PNG bytes")]) as api_server:
        api = api_of(api_server)
        for url in (storage.url + "a.png", f"http://localhost:{storage.port}/a.png", "file:///etc/passwd",
                    "ftp://example.com/a.png", f"http://[::1]:{storage.port}/a.png", "http://169.254.169.254/x"):
            with pytest.raises(FastLabelException, match="refusing the file URL"):
                api.download(url, tmp_path / "a.png")
        assert storage.requests == [] and not (tmp_path / "a.png").exists()
        api.download(api_server.url + "storage/a.png", tmp_path / "own.png")  # the API's own host and port
        api_of(api_server, allow_loopback_files=True).download(storage.url + "a.png", tmp_path / "b.png")
    assert (tmp_path / "own.png").read_bytes() == (tmp_path / "b.png").read_bytes() == b"PNG bytes"


def test_a_compressed_file_is_not_inflated_to_disk_beyond_its_caps(tmp_path):
    gzipped = {"Content-Encoding": "gzip"}
    routes = Routes({"/storage/bomb.png": [answer(200, gzip_bomb(512), gzipped)],
                     "/storage/big.png": [answer(200, gzip.compress(os.urandom(3 * MIB)), gzipped)],
                     "/storage/small.png": [answer(200, gzip.compress(b"x" * 1000), gzipped)]})
    with RawServer(routes) as server:
        with pytest.raises(FastLabelException, match="inflate beyond 100 times their size"):
            api_of(server).fetch(server.url + "storage/bomb.png", tmp_path / "bomb.png")
        api = api_of(server, max_file_bytes=2 * MIB)
        with pytest.raises(FastLabelException, match="the cap is 2 MiB, Transport max_file_bytes"):
            api.fetch(server.url + "storage/big.png", tmp_path / "big.png")
        assert api.fetch(server.url + "storage/small.png", tmp_path / "small.png") == 1000
    assert sorted(path.name for path in tmp_path.iterdir()) == ["small.png"]  # no partial or temporary file
    assert server.requests[0].headers["accept-encoding"] == "identity"


MEMORY_CHILD = textwrap.dedent("""
    import resource, sys, tempfile
    from fastlabel_formats_api.exceptions import FastLabelException
    from fastlabel_formats_api.guards import WATCHDOG
    from fastlabel_formats_api.transport import Transport

    with WATCHDOG.watch(1.0):  # its thread exists before the budget is measured
        pass
    status = dict(line.split(":", 1) for line in open("/proc/self/status"))
    size, resident = (int(status[key].split()[0]) * 1024 for key in ("VmSize", "VmRSS"))
    budget = 100 * 2**20 - resident  # what may still be added to stay within 100 MB resident
    resource.setrlimit(resource.RLIMIT_AS, (size + budget, size + budget))
    api = Transport("t", base_url=sys.argv[1] + "v1/", max_retries=0)
    for path in ("endless", "bomb"):
        try:
            api.request("GET", path)
            print(path, "read whole")
        except FastLabelException as error:
            print(path, "refused", "cap" in str(error))
    with tempfile.TemporaryDirectory() as folder:
        try:
            api.fetch(sys.argv[1] + "storage/bomb.png", folder + "/bomb.png")
        except FastLabelException as error:
            print("file refused", "inflate" in str(error))
    status = dict(line.split(":", 1) for line in open("/proc/self/status"))
    print("peak", int(status["VmHWM"].split()[0]) * 1024)  # this program's (ru_maxrss counts the forking parent)
""")


def test_a_gibibyte_body_and_a_gzip_bomb_fit_in_100_mb():
    """A 1 GiB chunked body and a 2 MB gzip bomb (2 GiB inflated) under an address-space limit of
    what the process had plus what 100 MB resident leave: both refused, no MemoryError."""
    endless = [head(200, {"Transfer-Encoding": "chunked", **JSON}),
               *([b"10000\r\n" + b" " * 0x10000 + b"\r\n"] * 16384)]
    bomb = [answer(200, gzip_bomb(2048), {"Content-Encoding": "gzip", **JSON})]
    routes = Routes({"/v1/endless": endless, "/v1/bomb": bomb, "/storage/bomb.png": bomb})
    with RawServer(routes, lifetime=60) as server:
        result = subprocess.run([sys.executable, "-c", MEMORY_CHILD, server.url], capture_output=True, text=True,
                                timeout=120, env={**os.environ, "MALLOC_ARENA_MAX": "2", "OPENBLAS_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[:3] == ["endless refused True", "bomb refused True", "file refused True"], result.stdout
    assert int(lines[3].split()[1]) <= 100 * MIB


def _page(first: int) -> list[dict]:
    return [{"id": f"task-{first + number}", "name": f"img{first + number}.png", "width": 10, "height": 10,
             "annotations": [], "url": ""} for number in range(1000)]


def _endless_project(fresh: bool) -> Routes:
    """A project whose task list always answers a full page: fresh ids each time, or the same page."""
    offsets = iter(range(0, 10**9, 1000))
    return Routes({"/v1/projects": [answer(200, [{"slug": "p", "type": "image_bbox", "id": "p1"}])],
                   "/v1/annotations": [answer(200, [])],
                   "/v1/tasks/image": lambda request: [answer(200, _page(next(offsets) if fresh else 0))]})


def test_endless_pages_end_with_an_error_and_leave_no_spool(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    with RawServer(_endless_project(fresh=False), max_requests=20) as server:
        client = Client(TOKEN, transport=api_of(server))
        with pytest.raises(FastLabelException, match="get_image_tasks: the server answered the same 1000 items at "
                                                     "offset 1000 as at offset 0"):
            pull(client, "p", str(tmp_path / "out"))
    with RawServer(_endless_project(fresh=True), max_requests=20) as server:
        client = Client(TOKEN, transport=api_of(server, max_pages=5))
        with pytest.raises(FastLabelException, match="more than 5 full pages of 1000 items"):
            pull(client, "p", str(tmp_path / "out"))
    assert sum(r.path.startswith("/v1/tasks/image") for r in server.requests) == 5
    with RawServer(_endless_project(fresh=True), max_requests=20) as server:
        client = Client(TOKEN, transport=api_of(server))
        pages = client.iter_image_tasks

        def interrupted(*args, **filters):  # Ctrl-C while the pages are spooled
            for number, task in enumerate(pages(*args, **filters)):
                if number == 1500:
                    raise KeyboardInterrupt
                yield task

        client.iter_image_tasks = interrupted
        with pytest.raises(KeyboardInterrupt):
            pull(client, "p", str(tmp_path / "out"))
    assert list((tmp_path / "tmp").iterdir()) == []  # no fastlabel-spool-*.jsonl, no folder
    assert not (tmp_path / "out").exists()


def test_a_pull_that_fails_mid_way_leaves_no_spool(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    pages = iter([[answer(200, _page(0))], [answer(500, {"message": "database on fire"})]])
    routes = _endless_project(fresh=True)
    routes.table["/v1/tasks/image"] = lambda request: next(pages)
    with RawServer(routes, max_requests=20) as server:
        client = Client(TOKEN, transport=api_of(server, max_retries=0))
        with pytest.raises(FastLabelException, match="database on fire"):
            pull(client, "p", str(tmp_path / "out"))
    assert list((tmp_path / "tmp").iterdir()) == []


def test_pull_fetches_no_image_from_another_local_port_and_says_so(tmp_path, monkeypatch, capsys):
    with FakeFastLabel(token=TOKEN) as fake, RawServer(lambda request: [answer(200, b"private")]) as other:
        monkeypatch.setenv("FASTLABEL_ACCESS_TOKEN", TOKEN)
        monkeypatch.setenv("FASTLABEL_API_URL", fake.url)
        client = Client(TOKEN, base_url=fake.url)
        client.create_project("image_bbox", "Cats", "cats")
        image = tmp_path / "a.png"
        image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
        client.create_image_task("cats", "a.png", str(image))
        client.create_image_task("cats", "b.png", str(image))
        fake.tasks["tasks/image"][1]["url"] = other.url + "b.png"
        code = main(["pull", "cats", "-o", str(tmp_path / "out"), "--images"])
    captured = capsys.readouterr()
    assert code == 1 and other.requests == []
    assert "b.png: refusing the file URL" in captured.err and "<Response" not in captured.err
    assert sorted(path.name for path in (tmp_path / "out" / "images").iterdir()) == ["a.png"]


def test_push_reads_no_file_outside_the_images_folder(tmp_path, monkeypatch, capsys):
    images, outside = tmp_path / "images", tmp_path / "outside.png"
    images.mkdir()
    png = b"\x89PNG\r\n\x1a\n" + bytes(100)
    outside.write_bytes(png)
    (images / "inside.png").write_bytes(png)
    (images / "link.png").symlink_to(outside)
    names = ["inside.png", "../outside.png", str(outside), "link.png", "sub/../inside.png"]
    with pytest.raises(FastLabelInvalidException, match="outside --images"):
        image_file(str(images), "../outside.png")
    assert image_file(str(images), "sub/../inside.png") == (images / "inside.png").resolve()
    (images / "loop.png").symlink_to(images / "loop.png")
    for strange in ("a\0b.png", "loop.png"):
        with pytest.raises(FastLabelInvalidException, match="cannot be looked up|no image file"):
            image_file(str(images), strange)
    tasks = [{"name": name, "width": 10, "height": 10, "annotations": []} for name in names]
    (tmp_path / "tasks.json").write_text(json.dumps(tasks))
    with FakeFastLabel(token=TOKEN) as fake:
        monkeypatch.setenv("FASTLABEL_ACCESS_TOKEN", TOKEN)
        monkeypatch.setenv("FASTLABEL_API_URL", fake.url)
        Client(TOKEN, base_url=fake.url).create_project("image_bbox", "Cats", "cats")
        code = main(["push", str(tmp_path / "tasks.json"), "--project", "cats", "--images", str(images)])
        created = sorted(task["name"] for task in fake.tasks["tasks/image"])
    err = capsys.readouterr().err
    assert code == 1 and created == ["inside.png", "sub/../inside.png"]
    for name in ("../outside.png", str(outside), "link.png"):
        assert f"  {name}: the image {name!r} is outside --images" in err


def test_cli_errors_say_the_status_and_the_servers_message(tmp_path, monkeypatch, capsys):
    with FakeFastLabel(token=TOKEN) as fake:
        monkeypatch.setenv("FASTLABEL_ACCESS_TOKEN", TOKEN)
        monkeypatch.setenv("FASTLABEL_API_URL", fake.url)
        fake.inject(times=1, status=422, body='{"message": "slug is invalid"}')
        assert main(["pull", "cats", "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "error: the server answered 422: slug is invalid" in err and "<Response" not in err


_HEADER_CHOICES = st.sampled_from([
    b"Content-Length: 0", b"Content-Length: 5", b"Content-Length: 99999", b"Content-Length: -1",
    b"Content-Length: x", b"Transfer-Encoding: chunked", b"Content-Encoding: gzip", b"Content-Encoding: deflate",
    b"Content-Encoding: br", b"Location: /v1/projects", b"Location: http://[::1", b"Retry-After: nan",
    b"Content-Type: application/json", b"Connection: close"])
_BODY_CHOICES = st.one_of(st.binary(max_size=64), st.sampled_from([
    b"[]", b"{}", b'{"message": "x"}', b"5\r\n[1,2]\r\n0\r\n\r\n", b"zz\r\n", gzip.compress(b"[1, 2]"),
    zlib.compress(b"[]"), gzip.compress(b"[1, 2]")[:-3]]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(status=st.sampled_from([b"200", b"204", b"302", b"307", b"404", b"500", b"999", b"abc"]),
       headers=st.lists(_HEADER_CHOICES, max_size=4), body=_BODY_CHOICES,
       method=st.sampled_from(["GET", "POST", "PUT", "DELETE"]))
def test_any_answer_on_the_wire_is_a_result_or_a_fastlabel_exception(status, headers, body, method):
    wire = b"HTTP/1.1 " + status + b" X\r\n" + b"".join(line + b"\r\n" for line in headers) + b"\r\n" + body
    with RawServer(lambda request: [wire], max_requests=10) as server:
        api = api_of(server, timeout=(0.5, 0.5), max_retries=0)
        try:
            api.request(method, "projects", payload={"slug": "x"} if method in ("POST", "PUT") else None)
        except FastLabelException:
            pass
