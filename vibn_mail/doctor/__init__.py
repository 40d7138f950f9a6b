"""The host doctor: preflight of a mail host, locally or over SSH from a pyinfra inventory."""

from vibn_mail.doctor.inventory import InventoryHost, load_inventory
from vibn_mail.doctor.run import DoctorSettings, HostCheckConfig, run_doctor
from vibn_mail.doctor.runner import CommandOutput, CommandRunner, LocalRunner, SshRunner, SshTarget

__all__ = [
    "CommandOutput",
    "CommandRunner",
    "DoctorSettings",
    "HostCheckConfig",
    "InventoryHost",
    "LocalRunner",
    "SshRunner",
    "SshTarget",
    "load_inventory",
    "run_doctor",
]
