"""Screenshots: type read from the bytes, metadata stripped, size limits, shown only to those allowed."""

from __future__ import annotations

import io

import sqlalchemy as sa
from PIL import Image, PngImagePlugin

from feedback_portal.feedback.models import Attachment, Feedback
from tests.conftest import ALICE, BOB, CAROL, ERIN, field_error, give_feedback, sign_in


def png_with_text_chunk(size=(40, 30)) -> bytes:  # noqa: ANN001
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Alice Frontline, 12 Acacia Avenue")
    output = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(output, format="PNG", pnginfo=info)
    return output.getvalue()


def jpeg_with_gps_exif() -> bytes:
    image = Image.new("RGB", (64, 48), (30, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0131] = "Camera app 1.0"  # Software
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 0.0)}  # GPSInfo
    output = io.BytesIO()
    image.save(output, format="JPEG", exif=exif)
    return output.getvalue()


def attachments(session) -> list[Attachment]:  # noqa: ANN001
    session.rollback()  # end the read transaction so the next query sees new commits
    return list(session.scalars(sa.select(Attachment)))


def test_a_png_screenshot_is_stored_without_its_metadata(as_alice, session, settings):
    original = png_with_text_chunk()
    assert b"Acacia" in original
    response = give_feedback(as_alice, files={"screenshots": ("screen.png", original, "image/png")})
    assert response.status_code == 303
    [stored] = attachments(session)
    data = (settings.uploads_dir / stored.storage_name).read_bytes()
    assert b"Acacia" not in data and b"Author" not in data
    assert stored.content_type == "image/png" and (stored.width, stored.height) == (40, 30)


def test_a_jpeg_loses_its_gps_and_camera_exif(as_alice, session, settings):
    original = jpeg_with_gps_exif()
    assert Image.open(io.BytesIO(original)).getexif()
    give_feedback(as_alice, files={"screenshots": ("photo.jpg", original, "image/jpeg")})
    [stored] = attachments(session)
    cleaned = Image.open(settings.uploads_dir / stored.storage_name)
    assert not cleaned.getexif()
    assert b"PhoneMaker" not in (settings.uploads_dir / stored.storage_name).read_bytes()


def test_a_non_image_renamed_png_is_refused_beside_the_field(as_alice, session):
    response = give_feedback(
        as_alice, files={"screenshots": ("notes.png", b"%PDF-1.4 this is really a pdf", "image/png")}
    )
    assert response.status_code == 422
    assert "notes.png is not a PNG or JPEG image" in field_error(response.text, "screenshots")
    assert session.scalar(sa.select(sa.func.count(Feedback.id))) == 0


def test_a_damaged_png_is_refused(as_alice):
    broken = png_with_text_chunk()[:60]
    response = give_feedback(as_alice, files={"screenshots": ("broken.png", broken, "image/png")})
    assert response.status_code == 422
    assert "could not be read as an image" in field_error(response.text, "screenshots")


def test_a_screenshot_over_10_mb_is_refused(as_alice, session):
    big = png_with_text_chunk() + b"\0" * (10 * 1024 * 1024)
    response = give_feedback(as_alice, files={"screenshots": ("big.png", big, "image/png")})
    assert response.status_code == 422
    assert "larger than 10 MB" in field_error(response.text, "screenshots")
    assert session.scalar(sa.select(sa.func.count(Feedback.id))) == 0


def test_more_than_three_screenshots_are_refused(as_alice, session):
    files = [("screenshots", (f"s{n}.png", png_with_text_chunk(), "image/png")) for n in range(4)]
    response = give_feedback(as_alice, files=files)
    assert response.status_code == 422
    assert field_error(response.text, "screenshots") == "Attach up to 3 screenshots"
    assert attachments(session) == []


def test_a_50_mb_upload_gets_a_clear_4xx_and_nothing_is_stored(as_alice, session, settings):
    huge = b"\x89PNG\r\n\x1a\n" + b"\0" * (50 * 1024 * 1024)
    response = give_feedback(as_alice, files={"screenshots": ("huge.png", huge, "image/png")})
    assert response.status_code == 413
    assert "too large" in response.text
    assert session.scalar(sa.select(sa.func.count(Feedback.id))) == 0
    assert not settings.uploads_dir.exists() or not any(settings.uploads_dir.iterdir())


def test_screenshots_are_served_only_to_business_support_and_the_sender(client, session):
    sign_in(client, ALICE)
    give_feedback(client, files={"screenshots": ("screen.png", png_with_text_chunk(), "image/png")})
    [stored] = attachments(session)
    url = f"/attachments/{stored.id}"
    own = client.get(url)
    assert own.status_code == 200 and own.headers["content-type"] == "image/png"
    for persona, expected in ((ERIN, 403), (CAROL, 403), (BOB, 200)):
        client.cookies.clear()
        sign_in(client, persona)
        assert client.get(url).status_code == expected, persona.name


def test_anonymous_screenshots_are_not_linked_to_the_sender(client, session):
    sign_in(client, ALICE)
    give_feedback(client, anonymity="anonymous", files={"screenshots": ("s.png", png_with_text_chunk(), "image/png")})
    [stored] = attachments(session)
    # The sender is not recorded, so not even they can fetch it later; business support can.
    assert client.get(f"/attachments/{stored.id}").status_code == 403
    client.cookies.clear()
    sign_in(client, BOB)
    assert client.get(f"/attachments/{stored.id}").status_code == 200
