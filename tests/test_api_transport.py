"""The API layer's transport against the fake server: retries, limiter, errors, secrecy."""

from __future__ import annotations

import pickle

import pytest

from fastlabel_formats_api.exceptions import FastLabelException, FastLabelInvalidException
from fastlabel_formats_api.testing import FakeFastLabel
from fastlabel_formats_api.transport import RateLimiter, Transport

TOKEN = "secret-token-123"


@pytest.fixture
def fake():
    with FakeFastLabel(token=TOKEN) as server:
        yield server


def transport(fake: FakeFastLabel, **options) -> tuple[Transport, list[float]]:
    waits: list[float] = []
    return Transport(TOKEN, base_url=fake.url, sleep=waits.append, **options), waits


def test_three_429s_then_success_is_one_call_honouring_retry_after(fake):
    api, waits = transport(fake)
    fake.inject(times=3, status=429, retry_after="0.25")
    project = {"slug": "cats", "name": "Cats", "type": "image_bbox", "workflow": "two_step",
               "externalWorkflow": "two_step"}
    project_id = api.request("POST", "projects", payload=project)
    assert project_id == "project-1" and waits == [0.25, 0.25, 0.25]
    assert [entry.method for entry in fake.log] == ["POST"] * 4
    assert api.request("GET", "projects", params={"slug": "cats"})[0]["slug"] == "cats"
    assert fake.log[-1].headers["Authorization"] == f"Bearer {TOKEN}"
    assert fake.log[-1].headers["User-Agent"].startswith("fastlabel-formats/")


def test_5xx_is_retried_with_backoff_on_get_but_not_on_post(fake):
    api, waits = transport(fake, backoff=0.01)
    fake.inject(times=2, status=503)
    assert api.request("GET", "projects") == [] and len(waits) == 2 and all(0.01 <= w < 0.08 for w in waits)
    fake.inject(times=1, status=503)
    with pytest.raises(FastLabelException, match=r"^<Response \[503\]> injected 503$"):
        api.request("POST", "projects", payload={"slug": "x"})


def test_errors_keep_the_official_types_and_messages(fake):
    api, _ = transport(fake)
    fake.inject(status=500, body='{"message": "boom"}')
    with pytest.raises(FastLabelException) as raised:
        api.request("GET", "projects")
    assert raised.value.message == "boom" and raised.value.code == 500
    assert not isinstance(raised.value, FastLabelInvalidException)
    fake.inject(status=400, body='{"error": "no message key"}')
    with pytest.raises(FastLabelInvalidException, match=r'<Response \[400\]> \{"error": "no message key"\}'):
        api.request("GET", "projects")
    fake.inject(status=422, body="plain text")
    with pytest.raises(FastLabelInvalidException, match="plain text") as raised:
        api.request("GET", "projects")
    again = pickle.loads(pickle.dumps(raised.value))
    assert (again.message, again.code, str(again)) == ("plain text", 422, "<Response [422]> plain text")
    # what the command line shows instead: the status in words, the server's message
    assert again.user_message() == raised.value.user_message() == "the server answered 422: plain text"
    assert FastLabelInvalidException("Supported extensions are zip.", 422).user_message() == \
        "Supported extensions are zip."  # a client-side check: no status claimed


def test_dropped_connection_on_get_is_retried(fake):
    api, waits = transport(fake, backoff=0.0)
    fake.inject(times=1, drop=True)
    assert api.request("GET", "projects") == [] and len(waits) == 1
    assert len(fake.log) == 2


def test_wrong_token_and_missing_token(fake, monkeypatch):
    api = Transport("wrong", base_url=fake.url, sleep=lambda s: None)
    with pytest.raises(FastLabelInvalidException, match="Unauthorized"):
        api.request("GET", "projects")
    monkeypatch.delenv("FASTLABEL_ACCESS_TOKEN", raising=False)
    with pytest.raises(ValueError, match="FASTLABEL_ACCESS_TOKEN is not configured."):
        Transport()


def test_the_token_never_shows(fake):
    api, _ = transport(fake)
    fake.inject(status=500, body="failure")
    with pytest.raises(FastLabelException) as raised:
        api.request("GET", "projects")
    assert TOKEN not in repr(api) and TOKEN not in str(raised.value) and TOKEN not in repr(raised.value)


def test_success_codes_per_verb(fake):
    api, _ = transport(fake)
    fake.inject(status=204, body="")
    assert api.request("POST", "projects", payload={}) is None
    fake.inject(status=200, body="")
    assert api.request("PUT", "tasks/images/1", payload={}) is None
    fake.inject(status=204, body="")
    assert api.request("DELETE", "tasks/1") is None
    fake.inject(status=201, body='{"message": "created"}')
    with pytest.raises(FastLabelException, match="201"):  # the official client accepts only 200/204
        api.request("POST", "projects", payload={})


def test_limiter_delays_a_burst_beyond_its_budget():
    now = [100.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(calls=3, period=10.0, clock=lambda: now[0], sleep=sleep)
    for step in (0.0, 1.0, 1.0):
        now[0] += step
        assert limiter.wait() == 0.0
    now[0] += 1.0  # t = 103: the 4th call must wait until the first (t = 100) is 10 s old
    assert limiter.wait() == pytest.approx(7.0) and waits == [pytest.approx(7.0)]
    assert limiter.wait() == pytest.approx(1.0)  # the next one waits for the call at t = 101


def test_retry_after_is_parsed_safely_and_capped():
    from fastlabel_formats_api.transport import MAX_RETRY_AFTER, retry_after_seconds

    assert retry_after_seconds("nan") is None and retry_after_seconds("inf") is None
    assert retry_after_seconds("garbage") is None and retry_after_seconds("-5") == 0.0
    assert retry_after_seconds("2.5") == 2.5
    assert MAX_RETRY_AFTER == 60.0


def test_a_wait_beyond_the_cap_raises_at_once_with_the_servers_wait(fake):
    from fastlabel_formats_api import Client, FastLabelException

    slept = []
    client = Client(TOKEN, base_url=fake.url, sleep=slept.append)
    fake.inject(times=1, status=429, retry_after="86400")
    with pytest.raises(FastLabelException, match="asks to wait 86400 s"):
        client.get_projects()
    assert slept == []
    fake.inject(times=1, status=503, retry_after="nan")
    assert client.get_projects() == [] and len(slept) == 1 and slept[0] < 5  # backoff instead


def test_malformed_2xx_bodies_and_huge_error_bodies(fake):
    from fastlabel_formats_api import Client, FastLabelException

    client = Client(TOKEN, base_url=fake.url, sleep=lambda seconds: None)
    fake.inject(times=1, status=200, body="{not json")
    with pytest.raises(FastLabelException, match="not JSON"):
        client.get_projects()
    fake.inject(times=1, status=400, body="x" * 20_000_000)
    with pytest.raises(FastLabelException) as failure:
        client.get_projects()
    assert len(str(failure.value)) < 3_000


def test_the_limiter_holds_its_window_across_threads():
    import concurrent.futures
    import threading

    from fastlabel_formats_api.transport import RateLimiter

    clock = {"now": 0.0}
    lock = threading.Lock()

    def sleep(seconds):
        with lock:
            clock["now"] += seconds

    limiter = RateLimiter(calls=20, period=10.0, clock=lambda: clock["now"], sleep=sleep)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: limiter.wait(), range(48)))
    times = sorted(limiter.recent)
    assert all(sum(1 for t in times if start <= t < start + 10.0) <= 20 for start in times)


HOSTILE_BODIES = ["", "null", "[]", "{}", "5", '"text"', "[1, 2]", '{"message": 5}', '{"message": null}', "{not json",
                  '[{"id": 1}]', '{"data": []}', "\u00e9\u0000", "[" * 50, '{"id": "x", "name": [1]}']
CALLS = {
    "get_projects": lambda c: c.get_projects(),
    "find_project_by_slug": lambda c: c.find_project_by_slug("cats"),
    "find_image_task_by_name": lambda c: c.find_image_task_by_name("cats", "a.jpg"),
    "iter_image_tasks": lambda c: list(c.iter_image_tasks("cats")),
    "get_image_tasks": lambda c: c.get_image_tasks("cats"),
    "delete_task": lambda c: c.delete_task("t1"),
    "update_image_task": lambda c: c.update_image_task("t1", status="completed"),
    "get_annotations": lambda c: c.get_annotations("cats"),
}


@pytest.mark.parametrize("call", list(CALLS))
def test_any_answer_of_the_server_is_a_fastlabel_exception_or_a_result(fake, call):
    """Whatever status and body the server sends (malformed, empty, wrong shape), a client call
    returns or raises FastLabelException; never a bare error from inside."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from fastlabel_formats_api import Client

    client = Client(TOKEN, base_url=fake.url, sleep=lambda seconds: None)

    @settings(max_examples=40, deadline=None, database=None)
    @given(st.sampled_from([200, 201, 204, 400, 401, 403, 404, 409, 422, 429, 500, 502, 503]),
           st.sampled_from(HOSTILE_BODIES), st.sampled_from([None, "0", "nan", "-1", "soon", "1e400"]))
    def case(status, body, retry_after):
        fake.inject(times=1, status=status, body=body, retry_after=retry_after)
        try:
            CALLS[call](client)
        except FastLabelException:
            pass
        finally:
            fake._faults.clear()

    case()
