"""The SSRF guard on outgoing requests: which addresses are refused, and pinning to them."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from isegoria.integrations import egress
from isegoria.integrations.ap_fetch import DocumentFetcher, FetchRefused
from isegoria.integrations.mastodon import mastodon_client
from isegoria.integrations.matrix_client import SynapseAdminClient
from isegoria.integrations.webhooks import DeliveryOutcome, deliver_body

NOW = datetime(2026, 1, 1, tzinfo=UTC)
REFUSED = [
    ("127.0.0.1", "loopback"),
    ("127.8.9.10", "loopback"),
    ("::1", "loopback"),
    ("::ffff:127.0.0.1", "loopback"),
    ("0.0.0.0", "unspecified"),  # noqa: S104 - an address under test, not a bind
    ("::", "unspecified"),
    ("169.254.169.254", "link-local"),
    ("fe80::1", "link-local"),
    ("10.0.0.1", "private"),
    ("10.255.255.255", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.254", "private"),
    ("192.168.1.1", "private"),
    ("::ffff:192.168.1.1", "private"),
    ("fd00::1", "private"),
    ("fc00::1", "private"),
    ("100.64.0.1", "not globally routable"),
    ("100.127.255.254", "not globally routable"),
    ("224.0.0.1", "multicast"),
    ("ff02::1", "multicast"),
    ("240.0.0.1", "reserved"),
    # IPv6 forms that carry an IPv4 address are judged by the address inside.
    ("2002:7f00:1::", "loopback address (as the 6to4"),
    ("2002:a9fe:a9fe::1", "metadata services answer) (as the 6to4"),
    ("2002:c0a8:101:1::5", "private address (as the 6to4"),
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "loopback address (as the Teredo"),  # client 127.0.0.1
    ("2001:0:7f00:1::", "(as the Teredo"),  # server 127.0.0.1
    ("64:ff9b::7f00:1", "loopback address (as the NAT64"),
    ("64:ff9b::a9fe:a9fe", "metadata services answer) (as the NAT64"),
    ("64:ff9b:1::a00:1", "private address (as the NAT64"),
    ("::ffff:0:a00:1", "reserved"),  # SIIT's IPv4-translated form: not a public address
    ("::127.0.0.1", "loopback address (as the IPv4-compatible"),
    ("::10.0.0.1", "private address (as the IPv4-compatible"),
]
ALLOWED = [
    "93.184.215.14",
    "8.8.8.8",
    "172.32.0.1",
    "100.128.0.1",
    "2606:4700:4700::1111",
    "::ffff:8.8.8.8",  # the IPv4-mapped and NAT64 forms reach the public address inside
    "64:ff9b::808:808",
    "2002:808:808::1",  # 6to4 to a public address: a public IPv6 address
]


@pytest.mark.parametrize(("address", "kind"), REFUSED)
def test_an_address_only_this_server_can_reach_is_refused(address: str, kind: str) -> None:
    reason = egress.forbidden_reason(address)
    assert reason is not None and kind in reason


@pytest.mark.parametrize("address", ALLOWED)
def test_a_public_address_is_allowed(address: str) -> None:
    assert egress.forbidden_reason(address) is None


def test_a_url_is_judged_at_registration_only_when_it_names_an_address() -> None:
    assert "loopback" in (egress.literal_host_reason("http://[::1]:8080/hook") or "")
    assert "link-local" in (egress.literal_host_reason("http://169.254.169.254/") or "")
    assert egress.literal_host_reason("https://hooks.forum.example/x") is None
    assert egress.literal_host_reason("https://8.8.8.8/x") is None


Sent = list[tuple[str, str, object]]


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Sent:
    """Stands in for the network below the guard: records where each request would go."""
    seen: Sent = []

    def connect(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
        seen.append(
            (str(request.url), request.headers["host"], request.extensions.get("sni_hostname"))
        )
        return httpx.Response(204, request=request)

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", connect)
    return seen


def _client(addresses: list[str], *, allow_private: bool = False) -> httpx.Client:
    return egress.guarded_client(allow_private=allow_private, resolver=lambda host, port: addresses)


def test_the_request_goes_to_the_checked_address_under_its_own_name(sent: Sent) -> None:
    with _client(["93.184.215.14"]) as client:
        assert client.post("https://hooks.forum.example:8443/in", content=b"{}").status_code == 204
    # Connected to the address resolved once; Host header and TLS name keep the host name.
    assert sent == [
        ("https://93.184.215.14:8443/in", "hooks.forum.example:8443", "hooks.forum.example")
    ]


def test_a_name_with_any_forbidden_address_is_refused_before_connecting(sent: Sent) -> None:
    with _client(["93.184.215.14", "10.0.0.7"]) as client:
        with pytest.raises(egress.EgressRefused, match="10.0.0.7 is a private address"):
            client.get("http://hooks.forum.example/")
    assert sent == []


def test_the_operator_may_allow_private_addresses(sent: Sent) -> None:
    with _client(["127.0.0.1"], allow_private=True) as client:
        assert client.get("http://intranet.example/hook").status_code == 204
    assert sent[0][0] == "http://127.0.0.1/hook"


def test_a_refused_webhook_is_a_permanent_failure_naming_the_address(sent: Sent) -> None:
    with _client(["169.254.169.254"]) as client:
        result = deliver_body(
            "http://metadata.example/latest",
            "secret",
            delivery_id="1",
            event="decision.sanction_imposed",
            body=b"{}",
            client=client,
        )
    assert result.outcome is DeliveryOutcome.PERMANENT
    assert "169.254.169.254 is a link-local address" in result.error
    assert sent == []


def test_redirects_are_not_followed(monkeypatch: pytest.MonkeyPatch) -> None:
    hops: list[str] = []

    def connect(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
        hops.append(str(request.url))
        return httpx.Response(307, headers={"Location": "http://10.0.0.1/"}, request=request)

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", connect)
    with _client(["93.184.215.14"]) as client:
        assert client.post("http://hooks.forum.example/", content=b"{}").status_code == 307
    assert hops == ["http://93.184.215.14/"]


def test_the_activitypub_fetcher_uses_the_same_guard() -> None:
    fetch = DocumentFetcher(clock=lambda: NOW)
    with pytest.raises(FetchRefused, match="127.0.0.1 is a loopback address"):
        fetch("http://127.0.0.1:9/users/mallory")


def test_a_homeserver_client_is_guarded_on_every_request() -> None:
    with SynapseAdminClient("http://127.0.0.1:9", "token") as client:
        with pytest.raises(egress.EgressRefused, match="loopback"):
            client.event_reports(0, 1)


@pytest.mark.parametrize("url", ["http://127.0.0.1:9", "https://[64:ff9b::a00:1]/"])
def test_a_mastodon_client_is_refused_for_a_private_server(url: str) -> None:
    with pytest.raises(egress.EgressRefused, match="ISEGORIA_WEBHOOK_ALLOW_PRIVATE"):
        mastodon_client(url, "token")
    assert mastodon_client(url, "token", allow_private=True) is not None


def test_a_server_name_is_judged_by_what_it_resolves_to() -> None:
    def resolve(host: str, port: int) -> list[str]:
        return ["93.184.215.14", "10.0.0.7"]  # one public, one private: refused

    with pytest.raises(egress.EgressRefused, match="private"):
        egress.check_base_url("https://masto.example", resolver=resolve)
    egress.check_base_url("https://masto.example", resolver=lambda h, p: ["93.184.215.14"])
