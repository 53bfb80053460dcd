"""The meeting's calendar invite (.ics, with icalendar) and the agenda pack as a PDF (WeasyPrint).

The PDF is the pack page's own HTML, rendered with print.css: one source for screen, print and PDF.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import icalendar

from feedback_portal.meetings.models import Meeting
from feedback_portal.meetings.services import LONDON, meeting_ref

STATIC_DIR = Path(__file__).resolve().parent.parent.parent / "static"


def agenda_text(meeting: Meeting) -> str:
    lines = [f"Agenda ({meeting.duration_minutes} minutes):"]
    for item in meeting.items:
        lines.append(f"{item.position}. {item.heading} ({item.minutes} min)")
    return "\n".join(lines)


def ics(meeting: Meeting, *, host: str) -> bytes:
    """One VEVENT in Europe/London time. The UID is stable (the meeting's id and the host), so importing
    an updated invite updates the same calendar entry; SEQUENCE follows the meeting's version."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Children's Services//CMS Feedback//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = icalendar.Event()
    event.add("uid", f"meeting-{meeting.id}@{host}")
    event.add("summary", meeting.title)
    start = meeting.scheduled_for.astimezone(LONDON)
    event.add("dtstart", start)
    event.add("dtend", start + dt.timedelta(minutes=meeting.duration_minutes))
    event.add("dtstamp", dt.datetime.now(dt.UTC))
    event.add("sequence", meeting.version)
    event.add("description", f"{meeting_ref(meeting.id)}\n\n{agenda_text(meeting)}")
    attendees = meeting.series.attendees if meeting.series else []
    for person in attendees:
        attendee = icalendar.vCalAddress(f"mailto:{person.email}")
        attendee.params["cn"] = icalendar.vText(person.name)
        attendee.params["role"] = icalendar.vText("REQ-PARTICIPANT")
        event.add("attendee", attendee, encode=0)
    if meeting.chair is not None:
        organizer = icalendar.vCalAddress(f"mailto:{meeting.chair.email}")
        organizer.params["cn"] = icalendar.vText(meeting.chair.name)
        event["organizer"] = organizer
    calendar.add_component(event)
    # A VTIMEZONE for Europe/London covering the year around the meeting (not 1970-2038: a long file).
    calendar.add_missing_timezones(
        first_date=dt.date(start.year - 1, 1, 1), last_date=dt.date(start.year + 2, 1, 1)
    )
    return calendar.to_ical()


def pdf(html: str) -> bytes:
    """The pack's HTML as a PDF. Stylesheets and images load from static/ on disk, never over the network."""
    import weasyprint  # imported here: it loads Pango, which only the PDF needs

    class StaticOnly(weasyprint.URLFetcher):
        def fetch(self, url, headers=None):
            if not url.startswith("file://") or not Path(url[7:].split("?")[0]).resolve().is_relative_to(
                STATIC_DIR
            ):
                raise ValueError(f"not fetched: {url}")
            return super().fetch(url, headers)

    document = weasyprint.HTML(
        string=html, base_url=STATIC_DIR.as_uri() + "/", url_fetcher=StaticOnly(allowed_protocols=("file",))
    )
    return document.write_pdf()
