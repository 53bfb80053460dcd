"""SMTP settings are checked at start-up: a malformed one fails loudly, naming the variable and the rule."""

from __future__ import annotations

import pytest

from feedback_portal.app import create_app_from_env
from feedback_portal.settings import Settings, SettingsError


def from_env(tmp_path, **values: str) -> Settings:  # noqa: ANN001
    environ = {f"FEEDBACK_PORTAL_{name}": value for name, value in values.items()}
    return Settings.from_env({"FEEDBACK_PORTAL_DATA_DIR": str(tmp_path), **environ})


def test_a_complete_smtp_configuration_is_read(tmp_path):
    settings = from_env(
        tmp_path,
        SMTP_HOST="smtp.council.example",
        SMTP_PORT="587",
        SMTP_STARTTLS="yes",
        SMTP_USERNAME="cms-feedback",
        SMTP_PASSWORD="a secret",
        SMTP_FROM="cms-feedback@council.example",
        SMTP_TIMEOUT="7.5",
    )
    assert settings.smtp_configured
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_starttls) == ("smtp.council.example", 587, True)
    assert (settings.smtp_username, settings.smtp_password) == ("cms-feedback", "a secret")
    assert settings.smtp_timeout == 7.5
    assert settings.smtp_from == "cms-feedback@council.example"


def test_without_a_host_email_is_off_and_the_defaults_are_valid(tmp_path):
    settings = from_env(tmp_path)
    assert not settings.smtp_configured and settings.smtp_port == 25 and settings.smtp_timeout == 10
    assert from_env(tmp_path, SMTP_HOST="10.0.0.5").smtp_configured
    assert from_env(tmp_path, SMTP_HOST="::1").smtp_host == "::1"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"SMTP_PORT": "abc"}, "FEEDBACK_PORTAL_SMTP_PORT must be a port number from 1 to 65535, not 'abc'"),
        ({"SMTP_PORT": "0"}, "FEEDBACK_PORTAL_SMTP_PORT must be a port number from 1 to 65535, not '0'"),
        ({"SMTP_PORT": "65536"}, "FEEDBACK_PORTAL_SMTP_PORT must be a port number from 1 to 65535, not '65536"),
        ({"SMTP_PORT": "-25"}, "FEEDBACK_PORTAL_SMTP_PORT must be a port number"),
        ({"SMTP_STARTTLS": "maybe"}, "FEEDBACK_PORTAL_SMTP_STARTTLS must be true or false, not 'maybe'"),
        ({"SMTP_FROM": "not-an-email"}, "FEEDBACK_PORTAL_SMTP_FROM must be an email address"),
        ({"SMTP_FROM": "CMS <cms@council.example>"}, "FEEDBACK_PORTAL_SMTP_FROM must be an email address"),
        ({"SMTP_FROM": "cms@council.example\nBcc: all@council.example"}, "FEEDBACK_PORTAL_SMTP_FROM must be"),
        ({"SMTP_FROM": "cms@@council.example"}, "FEEDBACK_PORTAL_SMTP_FROM must be an email address"),
        ({"SMTP_HOST": "smtp://smtp.council.example"}, "FEEDBACK_PORTAL_SMTP_HOST must be a host name or IP"),
        ({"SMTP_HOST": "smtp.council.example:587"}, "FEEDBACK_PORTAL_SMTP_HOST must be a host name"),
        ({"SMTP_HOST": "smtp council"}, "FEEDBACK_PORTAL_SMTP_HOST must be a host name"),
        ({"SMTP_TIMEOUT": "soon"}, "FEEDBACK_PORTAL_SMTP_TIMEOUT must be a number of seconds, not 'soon'"),
        ({"SMTP_TIMEOUT": "0"}, "FEEDBACK_PORTAL_SMTP_TIMEOUT must be more than 0 and at most 300 seconds"),
        ({"SMTP_TIMEOUT": "nan"}, "FEEDBACK_PORTAL_SMTP_TIMEOUT must be more than 0 and at most 300 seconds"),
        ({"SMTP_USERNAME": "cms"}, "set FEEDBACK_PORTAL_SMTP_PASSWORD too, or neither"),
        ({"SMTP_PASSWORD": "secret"}, "set FEEDBACK_PORTAL_SMTP_USERNAME too, or neither"),
    ],
)
def test_a_malformed_smtp_setting_fails_with_a_clear_message(tmp_path, values, message):
    with pytest.raises(SettingsError) as raised:
        from_env(tmp_path, **values)
    assert message in str(raised.value)


def test_settings_made_in_code_are_checked_too(tmp_path):
    with pytest.raises(SettingsError, match="SMTP_PORT"):
        Settings.for_data_dir(tmp_path, secret_key="x" * 40, smtp_port=70000)
    with pytest.raises(SettingsError, match="SMTP_STARTTLS"):
        Settings.for_data_dir(tmp_path, secret_key="x" * 40, smtp_starttls="yes")


def test_the_portal_refuses_to_start_with_a_malformed_smtp_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("FEEDBACK_PORTAL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FEEDBACK_PORTAL_SMTP_PORT", "abc")
    with pytest.raises(SettingsError, match="FEEDBACK_PORTAL_SMTP_PORT"):
        create_app_from_env()
