"""The admin landing page links every admin page; only admins may open it."""

from __future__ import annotations

from feedback_portal.admin import ADMIN_PAGES
from tests.conftest import BOB, DAN, sign_in


def test_admins_find_every_admin_page_from_one_menu_entry(client):
    sign_in(client, DAN)
    page = client.get("/admin")
    assert page.status_code == 200
    for href, title, _ in ADMIN_PAGES:
        assert f'href="{href}"' in page.text and title in page.text
        assert client.get(href).status_code == 200, href
    assert page.text.count('href="/admin"') == 1  # the navigation shows one Admin entry, not one per page


def test_business_support_cannot_open_admin(client):
    sign_in(client, BOB)
    assert client.get("/admin").status_code == 403
