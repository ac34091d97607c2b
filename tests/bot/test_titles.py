"""Fetching a 统发 link's title: WeChat's og:title / msg_title, dead links, redirects, and no private addresses."""

from __future__ import annotations

import time

from bot.titles import DEAD, OK, UNREACHABLE, Page, _pin, extract_title, fetch_page
from tests.pages import serve_pages


def test_titles_from_wechat_and_plain_pages() -> None:
    assert extract_title('<meta property="og:title" content="A &amp; B">') == "A & B"
    assert extract_title("<script>var msg_title = '微信 \\x26amp; 标题'.html(false);</script>") == "微信 & 标题"
    assert extract_title("<title>\n  普通   标题 </title>") == "普通 标题"
    assert extract_title("<html></html>") is None


async def test_pages_on_a_local_server() -> None:
    async with serve_pages() as base:
        page = await fetch_page(f"{base}/s/wx", allow_private=True)
        assert page == Page(OK, "学习贯彻全国教育大会精神 & 推进教育强省建设")
        assert (await fetch_page(f"{base}/s/msg", allow_private=True)).title == "只有 msg_title 的文章"
        assert (await fetch_page(f"{base}/s/moved", allow_private=True)).title.startswith("学习贯彻")
        assert (await fetch_page(f"{base}/s/gone", allow_private=True)).state == DEAD
        assert (await fetch_page(f"{base}/s/deleted", allow_private=True)).state == DEAD
        broken = await fetch_page(f"{base}/s/broken", allow_private=True)
        assert broken.state == UNREACHABLE and "500" in broken.reason
        loop = await fetch_page(f"{base}/s/loop", allow_private=True)
        assert loop.state == UNREACHABLE and "跳转" in loop.reason
        big = await fetch_page(f"{base}/s/big", allow_private=True, max_bytes=10_000)
        assert big == Page(OK, "大")


async def test_this_machine_and_private_networks_are_not_fetched() -> None:
    async with serve_pages() as base:
        page = await fetch_page(f"{base}/s/wx")  # 127.0.0.1 without the setting
        assert page.state == UNREACHABLE and "内网" in page.reason
    for url in ("http://10.1.2.3/a", "http://192.168.1.1/", "http://169.254.169.254/latest/meta-data", "http://[::1]/"):
        assert (await fetch_page(url)).state == UNREACHABLE
    assert "http/https" in (await fetch_page("ftp://example.com/a")).reason
    assert "http/https" in (await fetch_page("file:///etc/passwd")).reason


async def test_an_unreachable_host_answers_quickly() -> None:
    started = time.monotonic()
    page = await fetch_page("http://unreachable.invalid/s/1", timeout=1)
    assert page.state == UNREACHABLE and time.monotonic() - started < 3


async def test_a_site_that_does_not_exist_is_said_in_words() -> None:
    """Issue 21.15: the admin read `打不开（gaierror）`."""
    page = await fetch_page("http://unreachable.invalid/s/1", timeout=1)
    assert "网址无法访问" in page.reason and "gaierror" not in page.reason and "Error" not in page.reason


async def test_the_request_goes_to_the_address_that_was_checked() -> None:
    pinned, headers, tls = await _pin("https://localhost:8443/s/1?a=1", allow_private=True)
    assert pinned in ("https://127.0.0.1:8443/s/1?a=1", "https://[::1]:8443/s/1?a=1")
    assert headers == {"Host": "localhost:8443"} and tls == {"sni_hostname": "localhost"}
