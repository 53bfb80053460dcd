"""The admin landing page: one menu entry for the occasional settings, so the navigation stays short."""

from __future__ import annotations

from litestar import Request, get
from litestar.response import Template

from feedback_portal import web

ADMIN_PAGES = (
    ("/admin/import", "Import feedback", "Load feedback gathered by email or spreadsheet before the portal (CSV or Excel)."),
    ("/admin/synonyms", "Abbreviations and synonyms", "Teach search the words your teams use, so “CN” finds “case note”."),
    ("/admin/privacy", "Personal data checks", "Patterns for CMS person and case numbers, names to flag or ignore, and "
     "the safeguarding route shown to staff."),
    ("/admin/retention", "Retention", "How long feedback is kept before it is anonymised or deleted."),
    ("/admin/subject-access", "Subject access request", "Download everything the portal holds about one person."),
)


@get("/admin", guards=[web.admin_only], sync_to_thread=False)
def admin_index(request: Request) -> Template:
    return web.page(request, "admin/index.html", pages=ADMIN_PAGES, active_nav="admin")


ROUTES = [admin_index]
