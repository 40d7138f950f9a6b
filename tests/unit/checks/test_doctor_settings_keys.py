"""The doctor and the deploy read one inventory: a key means the same thing to both."""

from deploys.config import HostSettings, load_settings
from vibn_mail.doctor.run import DoctorSettings


def test_every_doctor_key_is_a_deploy_setting_or_doctor_only() -> None:
    deploy_keys = set(HostSettings.model_fields)
    for key in DoctorSettings.model_fields:
        assert key in deploy_keys or key.startswith("doctor_"), f"{key}: not a deploy setting, not doctor_*"


def test_a_deploy_inventory_with_doctor_keys_still_validates() -> None:
    data = {
        "web_hostname": "postal.example.com",
        "admin_email": "ops@example.com",
        "public_ipv4": "203.0.113.25",
        "doctor_outbound_25_target": "mx.example.net:25",
    }
    settings = load_settings(data)
    doctor = DoctorSettings.from_host_data(data)
    assert str(settings.public_ipv4) == doctor.public_ipv4 == "203.0.113.25"
    assert doctor.helo == settings.smtp_host == "postal.example.com"
